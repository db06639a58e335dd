// Loaded with NODE_OPTIONS=--require by devtools/localcouch.py. pouchdb's LevelDB adapter
// stores an attachment once per digest, with a map of every document revision that refers to
// it ("refs"), read and written whole on each write of any of those documents. A campaign's
// tokens all carry the same files: after a few thousand pilot writes that map held tens of
// thousands of entries (860 KB), and parsing it was most of the local server's time
// (docs/benchmarks.md, "Local server").
//
// The map serves compaction only: when it would become empty, the attachment is deleted. This
// keeps one fixed reference in it instead, so every write reads and writes a few bytes, and an
// attachment is never deleted by compaction: files no revision uses any more stay on disk. That
// is the trade for the bundled development server; Apache CouchDB stores attachments with each
// document and is not concerned.
'use strict';
const Module = require('module');

const load = Module._load;
const ATTACHMENT_STORE = 'attach-store';
const KEPT_REFERENCE = 'tokenportal@kept';

function isAttachmentStore(prefix) {
  const names = prefix && typeof prefix.prefix === 'function' ? prefix.prefix() : prefix;
  return Array.isArray(names) && names.length === 1 && names[0] === ATTACHMENT_STORE;
}

function withKeptReference(operation) {
  if (operation.type !== 'put' || !operation.value || !operation.value.refs || !isAttachmentStore(operation.prefix)) {
    return operation;
  }
  // A copy: the adapter's transaction caches the value it wrote and goes on adding to it.
  const value = Object.assign({}, operation.value, { refs: { [KEPT_REFERENCE]: true } });
  return Object.assign({}, operation, { value: value });
}

Module._load = function (request) {
  const exported = load.apply(this, arguments);
  if (request !== 'sublevel-pouchdb' || typeof exported !== 'function') {
    return exported;
  }
  return function sublevelWithSmallReferences(db) {
    const root = exported.apply(this, arguments);
    const batch = root.batch;
    root.batch = function (operations) {
      const rest = Array.prototype.slice.call(arguments, 1);
      return batch.apply(this, [operations.map(withKeptReference)].concat(rest));
    };
    return root;
  };
};
