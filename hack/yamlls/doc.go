// Package yamlls holds the test that drives a real yaml-language-server
// (the npm package, pinned in package.json and package-lock.json here,
// installed into node_modules by make schema-lsp) over the language server
// protocol with the generated schema: the examples get no diagnostics, each
// typo of testdata/typos.yaml gets one, and completion offers each closed
// set's values. The test has the build tag yamlls: make schema-lsp runs it.
//
// The server is pinned at 1.25.0, the newest release that runs on Node.js
// 20 (2.0.0 needs Node.js 22.13 or later).
package yamlls
