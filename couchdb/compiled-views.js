// Loaded with NODE_OPTIONS=--require by devtools/localcouch.py. pouchdb-mapreduce runs a map
// function by pasting the function and the document's JSON into a new script and running it in
// a new V8 context, for every document and every view: a context and a compilation per call,
// which made index builds and updates the local server's main cost (docs/benchmarks.md, "Local
// server"). Apache CouchDB compiles a design document's functions once per query server.
//
// This does the same for map functions: each one is compiled once, in one sandbox context that
// holds only JavaScript's built-ins (as the per-call contexts did) and the helpers a map function
// may call (emit, log, isArray, toJSON, sum), in strict mode as before. The document still
// crosses as JSON, parsed inside the sandbox, so a map function sees objects of its own realm and
// cannot change the server's copy. Reduce functions keep pouchdb's own path (the built-in ones
// run natively; the portal writes no other).
'use strict';
const Module = require('module');
const vm = require('vm');

const load = Module._load;
const sandbox = vm.createContext(Object.create(null));
vm.runInContext(`
  var log = function () {};
  var isArray = Array.isArray;
  var toJSON = JSON.parse;
  var sum = function (values) {
    var total = 0;
    for (var i = 0; i < values.length; i++) { total += values[i]; }
    return total;
  };
  var __emit__ = null;
  var emit = function (key, value) { __emit__(key, value); };
`, sandbox);
const parseInSandbox = vm.runInContext('JSON.parse', sandbox);
const compiled = new Map();

function compile(source) {
  let fn = compiled.get(source);
  if (fn === undefined) {
    // A trailing semicolon is tolerated, as pouchdb-mapreduce does.
    fn = vm.runInContext(`"use strict"; (${source.replace(/;\s*$/, '')})`, sandbox);
    if (typeof fn !== 'function') {
      throw new TypeError('a map function must be a function');
    }
    compiled.set(source, fn);
  }
  return fn;
}

function compiledMapper(original) {
  return function mapper(mapFun, emit) {
    if (typeof mapFun !== 'string') {
      return original(mapFun, emit);
    }
    let fn;
    try {
      fn = compile(mapFun);
    } catch (error) {
      // As before: a function that does not compile fails on each document, not the query.
      return function () { throw error; };
    }
    return function (doc) {
      sandbox.__emit__ = emit;
      try {
        return fn(parseInSandbox(JSON.stringify(doc)));
      } finally {
        sandbox.__emit__ = null;
      }
    };
  };
}

Module._load = function (request, parent) {
  const exported = load.apply(this, arguments);
  const fromMapreduce = parent && /[\\/]pouchdb-mapreduce[\\/]lib[\\/]/.test(parent.filename || '');
  if (request !== 'pouchdb-abstract-mapreduce' || !fromMapreduce) {
    return exported;
  }
  const create = exported && exported.default ? exported.default : exported;
  return function createAbstractMapReduce(localDocName, mapper, reducer, ddocValidator) {
    return create(localDocName, compiledMapper(mapper), reducer, ddocValidator);
  };
};
