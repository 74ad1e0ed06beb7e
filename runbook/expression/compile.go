package expression

import (
	"errors"
	"hash/maphash"
	"reflect"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/optimizer"
	"github.com/expr-lang/expr/vm"
)

// configs caches expr-lang configurations by environment: making one
// (expr.Compile does it for every expression) costs three times the
// compilation of a short expression. A configuration is not safe for
// concurrent use (it is only read while compiling, but for a cache of type
// information), so each environment has a pool of them.
var configs = struct {
	sync.Mutex
	pools map[envID]*sync.Pool
}{pools: map[envID]*sync.Pool{}}

// maxConfigs bounds the environments whose configurations are kept; a
// runbook has a few (one per step kind and place), tests some more.
const maxConfigs = 256

// envID identifies the environment of a Context: a hash of its names with
// their types, their number, and whether a boolean is expected.
type envID struct {
	hash  uint64
	names int
	bool  bool
}

var envSeed = maphash.MakeSeed()

// envKey identifies the environment of c: the names compileEnv gives
// their types (a result's type winning over a known name's). The hashes
// of the names with their types are summed, so the maps' order does not
// matter, and nothing is allocated.
func envKey(c Context) envID {
	type entry struct {
		name string
		t    reflect.Type
	}
	id := envID{bool: c.Bool}
	common := CommonResults()
	add := func(m, over1, over2 map[string]any) {
		for k, v := range m {
			if _, ok := over1[k]; ok {
				continue
			}
			if _, ok := over2[k]; ok {
				continue
			}
			id.hash += maphash.Comparable(envSeed, entry{k, reflect.TypeOf(v)})
			id.names++
		}
	}
	add(c.Known, common, c.Results)
	add(common, c.Results, nil)
	add(c.Results, nil, nil)
	return id
}

// newConfig makes the configuration expr.Compile would for c.
func newConfig(c Context) *conf.Config {
	cfg := conf.CreateNew()
	opts := options(c)
	if c.Bool {
		opts = append(opts, expr.AsBool())
	}
	for _, op := range opts {
		op(cfg)
	}
	for name := range cfg.Disabled {
		delete(cfg.Builtins, name)
	}
	cfg.Check()
	return cfg
}

// compile is expr.Compile with a kept configuration.
func compile(src string, c Context) (*vm.Program, error) {
	key := envKey(c)
	configs.Lock()
	pool, ok := configs.pools[key]
	if !ok && len(configs.pools) < maxConfigs {
		env := Context{Known: c.Known, Results: c.Results, Bool: c.Bool}
		pool = &sync.Pool{New: func() any { return newConfig(env) }}
		configs.pools[key] = pool
	}
	configs.Unlock()
	var cfg *conf.Config
	if pool != nil {
		cfg = pool.Get().(*conf.Config)
		defer pool.Put(cfg)
	} else {
		cfg = newConfig(c)
	}
	if err := checkNesting(src); err != nil {
		return nil, err
	}
	tree, err := checker.ParseCheck(src, cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Optimize {
		if err := optimizer.Optimize(&tree.Node, cfg); err != nil {
			var fe *file.Error
			if errors.As(err, &fe) {
				return nil, fe.Bind(tree.Source)
			}
			return nil, err
		}
	}
	return compiler.Compile(tree, cfg)
}
