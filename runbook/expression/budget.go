package expression

import (
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/vm"
	"github.com/expr-lang/expr/vm/runtime"
)

// Limits of one evaluation. expr-lang's memory budget counts the elements
// of the lists, maps and ranges its operators make (map, filter, sortBy,
// 1..n, [...], {...}), not the bytes of its strings, nor the lists its
// functions make (split, keys...) and ours (lines, grep, ps) make. So
// strings are checked where they are made: + on strings and the builtins
// that can make a string or a list much bigger than their arguments
// (repeat, join, replace, string, toJSON, flatten, upper, lower, toBase64,
// fromBase64, fromJSON) go through checks; the lists and maps a function
// makes are counted, all calls together, against MaxListElements; and
// every result, and every rendered template, is measured.
const (
	// MemoryBudget is expr-lang's vm.MemoryBudget for one evaluation: the
	// elements its operators make, in all.
	MemoryBudget = 1_000_000
	// MaxListElements is how many elements the lists and maps functions
	// make (split, splitAfter, keys, values, toPairs, fromPairs, uniq,
	// flatten, fromJSON, lines, grep, ps) may hold in all, in one
	// evaluation: the count expr-lang keeps for its operators, kept for
	// the functions, which expr-lang does not count. A map() over such a
	// list that calls such a function counts every call.
	MaxListElements = MemoryBudget
	// MaxStringBytes is the largest string an evaluation may make or
	// give, and the largest text a template may render.
	MaxStringBytes = 1 << 20
	// MaxValueBytes is the largest list or map an evaluation may give,
	// measured as its JSON text.
	MaxValueBytes = 16 << 20
	// MaxBuiltBytes is how many bytes of strings one evaluation may make in
	// all, so that a loop of concatenations ends soon.
	MaxBuiltBytes = 64 << 20
	// MaxValueDepth is how deeply a result may nest.
	MaxValueDepth = 1000
)

// BudgetError is an evaluation that went over one of the limits. The
// expression fails with it (the step fails), as with any other error.
type BudgetError struct {
	// What went over the limit, e.g. "expression result".
	What string
	// Size is its size in bytes; with AtLeast, as far as it was measured.
	Size    int
	AtLeast bool
	// Deep is set when it nests deeper than MaxValueDepth.
	Deep bool
	// Elements is set when Size and Limit count the elements of lists and
	// maps, not bytes (What is then plural: "the lists ...").
	Elements bool
	// Limit is the limit in bytes (in elements with Elements).
	Limit int
}

// Error says what is over which limit.
func (e *BudgetError) Error() string {
	if e.Deep {
		return fmt.Sprintf("%s nests more than %d levels deep", e.What, MaxValueDepth)
	}
	if e.Elements {
		return fmt.Sprintf("%s are over the limit of %d elements", e.What, e.Limit)
	}
	if e.AtLeast {
		return fmt.Sprintf("%s is over the limit of %d bytes (%s)", e.What, e.Limit, mib(e.Limit))
	}
	return fmt.Sprintf("%s is %d bytes, over the limit of %d (%s)", e.What, e.Size, e.Limit, mib(e.Limit))
}

func mib(n int) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}

// checkSize checks that v, written as JSON, takes at most limit bytes
// (about: numbers count 8) and nests at most MaxValueDepth deep. A value
// written twice (a list holding one list twice) counts twice, as it is
// written twice, so a list doubled by reduce is caught.
func checkSize(what string, v any, limit int) error {
	if s, ok := v.(string); ok {
		if len(s) > limit {
			return &BudgetError{What: what, Size: len(s), Limit: limit}
		}
		return nil
	}
	m := measurer{limit: limit}
	if m.add(v, 0) {
		return nil
	}
	return &BudgetError{What: what, Size: m.size, AtLeast: true, Deep: m.deep, Limit: limit}
}

type measurer struct {
	size, limit int
	deep        bool
}

// add counts v; false once over the limit.
func (m *measurer) add(v any, depth int) bool {
	if depth > MaxValueDepth {
		m.deep = true
		return false
	}
	switch x := v.(type) {
	case nil:
		m.size += 4
	case string:
		m.size += len(x) + 2
	case bool, int, int64, float64:
		m.size += 8
	case []any:
		m.size += 2 + len(x)
		for _, e := range x {
			if m.size > m.limit || !m.add(e, depth+1) {
				return false
			}
		}
	case map[string]any:
		m.size += 2 + len(x)
		for k, e := range x {
			m.size += len(k) + 3
			if m.size > m.limit || !m.add(e, depth+1) {
				return false
			}
		}
	default:
		return m.addReflect(reflect.ValueOf(v), depth)
	}
	return m.size <= m.limit
}

func (m *measurer) addReflect(r reflect.Value, depth int) bool {
	switch r.Kind() {
	case reflect.String:
		m.size += r.Len() + 2
	case reflect.Slice, reflect.Array:
		m.size += 2 + r.Len()
		for i := 0; i < r.Len(); i++ {
			if m.size > m.limit || !m.add(r.Index(i).Interface(), depth+1) {
				return false
			}
		}
	case reflect.Map:
		m.size += 2 + r.Len()
		it := r.MapRange()
		for it.Next() {
			if m.size > m.limit || !m.add(it.Key().Interface(), depth+1) || !m.add(it.Value().Interface(), depth+1) {
				return false
			}
		}
	case reflect.Pointer, reflect.Interface:
		if !r.IsNil() {
			return m.add(r.Elem().Interface(), depth+1)
		}
		m.size += 4
	default:
		m.size += 8
	}
	return m.size <= m.limit
}

// checkResult checks the value an evaluation gives.
func checkResult(v any) error {
	switch v.(type) {
	case nil, bool, int, float64:
		return nil
	case string:
		return checkSize("expression result", v, MaxStringBytes)
	}
	return checkSize("expression result", v, MaxValueBytes)
}

// meter counts the bytes of the strings one evaluation makes, and the
// elements of the lists and maps its functions make. It is in the
// environment, under meterKey, where the checked functions find it.
type meter struct{ made, elements int }

const meterKey = "$meter"

// meterOf finds the meter in the environment an evaluation got.
func meterOf(env any) *meter {
	if m, ok := env.(map[string]any); ok {
		if mt, ok := m[meterKey].(*meter); ok {
			return mt
		}
	}
	return &meter{}
}

// make checks a string an operator or a function is about to make, of n
// bytes, and counts it.
func (m *meter) make(what string, n int) error {
	if n > MaxStringBytes {
		return &BudgetError{What: what, Size: n, Limit: MaxStringBytes}
	}
	return m.add(n)
}

// add counts n bytes of strings made.
func (m *meter) add(n int) error {
	m.made += n
	if m.made > MaxBuiltBytes {
		return &BudgetError{What: "the total of the strings this evaluation made", Size: m.made, AtLeast: true, Limit: MaxBuiltBytes}
	}
	return nil
}

// grow counts n elements of the lists or maps that the function name
// makes, or is about to make.
func (m *meter) grow(name string, n int) error {
	m.elements += n
	if m.elements > MaxListElements {
		return &BudgetError{
			What: fmt.Sprintf("the lists made by functions in this evaluation (the last: %s)", name),
			Size: m.elements, AtLeast: true, Elements: true, Limit: MaxListElements,
		}
	}
	return nil
}

// cost is what a function's result holds that the function made: the
// elements of its lists, and two per entry of its maps, of the top level
// only unless deep; and, when deep, the bytes of its strings (fromJSON and
// ps make theirs).
func cost(v any, deep bool) (elements, bytes int) {
	if !deep {
		switch r := reflect.ValueOf(v); r.Kind() {
		case reflect.Slice, reflect.Array, reflect.Map:
			// An element per item (two per key and value of a map);
			// and per item of the pairs ([2]any) of toPairs.
			elements = r.Len()
			if r.Kind() == reflect.Map {
				elements *= 2
			} else if r.Type().Elem().Kind() == reflect.Array {
				elements += r.Len() * r.Type().Elem().Len()
			}
		}
		return elements, 0
	}
	var walk func(v any)
	walk = func(v any) {
		if elements > MaxListElements || bytes > MaxBuiltBytes {
			return
		}
		switch x := v.(type) {
		case string:
			bytes += len(x)
		case []any:
			elements += len(x)
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			elements += 2 * len(x)
			for k, e := range x {
				bytes += len(k)
				walk(e)
			}
		}
	}
	walk(v)
	return elements, bytes
}

// charge counts what the function name's result out holds (see cost).
func (m *meter) charge(name string, out any, deep bool) error {
	elements, bytes := cost(out, deep)
	if err := m.add(bytes); err != nil {
		return err
	}
	return m.grow(name, elements)
}

// run evaluates a program against env with the budgets.
func run(program *vm.Program, env map[string]any) (any, error) {
	env[meterKey] = &meter{}
	machine := vm.VM{MemoryBudget: MemoryBudget}
	v, err := machine.Run(program, env)
	if err != nil {
		return nil, err
	}
	if err := checkResult(v); err != nil {
		return nil, err
	}
	return v, nil
}

// concatName is the function + on strings becomes.
const concatName = "$concat"

var (
	anyType    = reflect.TypeOf((*any)(nil)).Elem()
	stringType = reflect.TypeOf("")
)

// concat is + on two values, either of which may be a string: a string is
// checked before it is made.
var concat = &builtin.Function{
	Name: concatName,
	Func: func(args ...any) (any, error) {
		a, aok := args[0].(string)
		b, bok := args[1].(string)
		if !aok || !bok {
			return runtime.Add(args[0], args[1]), nil
		}
		if err := meterOf(args[2]).make("a string made by +", len(a)+len(b)); err != nil {
			return nil, err
		}
		return a + b, nil
	},
	Validate: func(args []reflect.Type) (reflect.Type, error) {
		if len(args) == 3 && args[0].Kind() == reflect.String && args[1].Kind() == reflect.String {
			return stringType, nil
		}
		return anyType, nil
	},
}

// sizers say, before a builtin runs, how big its result will be, or return
// an error if it would be too big.
var sizers = map[string]func(args []any) (int, error){
	"repeat": func(args []any) (int, error) {
		s, _ := args[0].(string)
		n, _ := args[1].(int)
		if n > 0 && len(s) > MaxStringBytes/n {
			return 0, &BudgetError{What: "the result of repeat", Size: MaxStringBytes, AtLeast: true, Limit: MaxStringBytes}
		}
		return len(s) * max(n, 0), nil
	},
	"join": func(args []any) (int, error) {
		glue := ""
		if len(args) == 2 {
			glue, _ = args[1].(string)
		}
		size := 0
		r := reflect.ValueOf(args[0])
		if r.Kind() != reflect.Slice {
			return 0, nil
		}
		for i := 0; i < r.Len(); i++ {
			if s, ok := r.Index(i).Interface().(string); ok {
				size += len(s)
			}
			if i > 0 {
				size += len(glue)
			}
			if size > MaxStringBytes {
				return 0, &BudgetError{What: "the result of join", Size: size, AtLeast: true, Limit: MaxStringBytes}
			}
		}
		return size, nil
	},
	"replace": func(args []any) (int, error) {
		s, _ := args[0].(string)
		old, _ := args[1].(string)
		repl, _ := args[2].(string)
		count := strings.Count(s, old)
		if len(args) == 4 {
			if n, ok := args[3].(int); ok && n >= 0 {
				count = min(count, n)
			}
		}
		if grow := len(repl) - len(old); grow > 0 && count > (MaxStringBytes-len(s))/grow {
			return 0, &BudgetError{What: "the result of replace", Size: MaxStringBytes, AtLeast: true, Limit: MaxStringBytes}
		}
		return len(s) + count*(len(repl)-len(old)), nil
	},
	"string":  textSizer("string"),
	"toJSON":  textSizer("toJSON"),
	"flatten": func(args []any) (int, error) { return 0, checkSize("the argument of flatten", args[0], MaxValueBytes) },
}

// textSizer checks a value that a builtin writes out as text.
func textSizer(name string) func(args []any) (int, error) {
	return func(args []any) (int, error) {
		return 0, checkSize("the argument of "+name, args[0], MaxStringBytes)
	}
}

// counters say, before a builtin runs, how many elements the list it
// makes will hold: they are counted before it is made, as split(s, "")
// makes a list as long as s.
var counters = map[string]func(args []any) int{
	"split":      splitCount,
	"splitAfter": splitCount,
}

// splitCount is the length of the list split(s, sep[, n]) or splitAfter
// makes.
func splitCount(args []any) int {
	s, _ := args[0].(string)
	sep, _ := args[1].(string)
	n := -1
	if len(args) == 3 {
		n = runtime.ToInt(args[2])
	}
	if n == 0 {
		return 0
	}
	count := strings.Count(s, sep) + 1
	if sep == "" {
		count = utf8.RuneCountInString(s)
	}
	if n > 0 {
		count = min(count, n)
	}
	return count
}

// listBuiltins are the builtins whose results' lists and maps are counted
// after they run, each with whether its result is counted deep (see cost).
var listBuiltins = map[string]bool{
	"keys": false, "values": false, "toPairs": false, "fromPairs": false,
	"uniq": false, "flatten": false, "fromJSON": true,
}

// stringBuiltins are the other builtins that copy a string; their results,
// like the string results of all the checked builtins, are counted.
var stringBuiltins = []string{"upper", "lower", "toBase64", "fromBase64"}

// checked is the builtin name, run after its sizer and counter, with the
// environment as a last argument (added by the guard patch) to find the
// meter.
func checked(name string) *builtin.Function {
	b := builtin.Builtins[builtin.Index[name]]
	sizer, counter := sizers[name], counters[name]
	deep, isList := listBuiltins[name]
	f := &builtin.Function{Name: name}
	f.Func = func(args ...any) (any, error) {
		m := meterOf(args[len(args)-1])
		args = args[:len(args)-1]
		if sizer != nil {
			if _, err := sizer(args); err != nil {
				return nil, err
			}
		}
		if counter != nil {
			if err := m.grow(name, counter(args)); err != nil {
				return nil, err
			}
		}
		var out any
		var err error
		switch {
		case b.Fast != nil:
			out = b.Fast(args[0])
		case b.Safe != nil:
			out, _, err = b.Safe(args...)
		default:
			out, err = b.Func(args...)
		}
		if err != nil {
			return nil, err
		}
		if s, ok := out.(string); ok {
			err = m.make("the result of "+name, len(s))
		} else if isList {
			err = m.charge(name, out, deep)
		}
		return out, err
	}
	if b.Validate != nil {
		f.Validate = func(args []reflect.Type) (reflect.Type, error) {
			if len(args) == 0 {
				return anyType, fmt.Errorf("%s: missing arguments", name)
			}
			return b.Validate(args[:len(args)-1])
		}
		return f
	}
	for _, t := range b.Types {
		in := make([]reflect.Type, 0, t.NumIn()+1)
		for i := 0; i < t.NumIn(); i++ {
			in = append(in, t.In(i))
		}
		out := make([]reflect.Type, 0, t.NumOut())
		for i := 0; i < t.NumOut(); i++ {
			out = append(out, t.Out(i))
		}
		f.Types = append(f.Types, reflect.FuncOf(append(in, anyType), out, false))
	}
	return f
}

// checkedBuiltins replace the builtins of the same names.
var checkedBuiltins = func() map[string]*builtin.Function {
	out := map[string]*builtin.Function{}
	for name := range sizers {
		out[name] = checked(name)
	}
	for name := range counters {
		out[name] = checked(name)
	}
	for name := range listBuiltins {
		out[name] = checked(name)
	}
	for _, name := range stringBuiltins {
		out[name] = checked(name)
	}
	return out
}()

// metered says whether the function name gets the environment as a last
// argument: a checked builtin, or one of ours that makes lists.
func metered(name string) bool {
	return checkedBuiltins[name] != nil || listFunctions[name] != nil
}

// guard is the patch that routes what can make big values through checks:
// + on values that may be strings becomes a call of concat, and the
// checked builtins and our functions that make lists get the environment
// as a last argument.
type guard struct{}

// Visit implements ast.Visitor.
func (guard) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.BinaryNode:
		if call, ok := matchesCall(n); ok {
			ast.Patch(node, call)
			return
		}
		if n.Operator == "+" && maybeString(n.Left) && maybeString(n.Right) {
			ast.Patch(node, &ast.CallNode{
				Callee:    &ast.IdentifierNode{Value: concatName},
				Arguments: []ast.Node{n.Left, n.Right, &ast.IdentifierNode{Value: "$env"}},
			})
		}
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok && metered(id.Value) {
			n.Arguments = append(n.Arguments, &ast.IdentifierNode{Value: "$env"})
		}
		// The checker keeps the type a call got in the pass before this
		// patch and then skips the call's arguments: forget it, so that
		// the call and what it holds are checked as patched.
		n.SetType(nil)
	}
}

func maybeString(n ast.Node) bool {
	k := n.Type().Kind()
	return k == reflect.String || k == reflect.Interface
}

// unguard undoes the guard patch in a compiled expression's tree, so that
// its parts are shown as they were written.
type unguard struct{}

// Visit implements ast.Visitor.
func (unguard) Visit(node *ast.Node) {
	n, ok := (*node).(*ast.CallNode)
	if !ok {
		return
	}
	id, ok := n.Callee.(*ast.IdentifierNode)
	if !ok || len(n.Arguments) == 0 {
		return
	}
	if id.Value == matchesName && len(n.Arguments) == 2 {
		ast.Patch(node, &ast.BinaryNode{Operator: "matches", Left: n.Arguments[0], Right: n.Arguments[1]})
		return
	}
	if last, ok := n.Arguments[len(n.Arguments)-1].(*ast.IdentifierNode); !ok || last.Value != "$env" {
		return
	}
	switch {
	case id.Value == concatName && len(n.Arguments) == 3:
		ast.Patch(node, &ast.BinaryNode{Operator: "+", Left: n.Arguments[0], Right: n.Arguments[1]})
	case metered(id.Value):
		n.Arguments = n.Arguments[:len(n.Arguments)-1]
	}
}

// budgetOptions are the compile options of the checks.
func budgetOptions() []expr.Option {
	return []expr.Option{
		func(c *conf.Config) {
			c.Functions[concatName] = concat
			c.Functions[matchesName] = matches
			for name, f := range checkedBuiltins {
				c.Functions[name] = f
			}
		},
		expr.Patch(guard{}),
	}
}
