// Loaded with NODE_OPTIONS=--require by devtools/localcouch.py when the local server runs
// without document validation. pouchdb-server's command line cannot pass express-pouchdb's
// ``overrideMode``, so this wraps express-pouchdb's factory to exclude its "validation" part,
// which reads every design document of a database on each document written (the portal never
// writes validate_doc_update functions). The _users database keeps its own validation: the
// authentication plugin installs it itself.
'use strict';
const Module = require('module');
const load = Module._load;

Module._load = function (request) {
  const exported = load.apply(this, arguments);
  if (request !== 'express-pouchdb' || typeof exported !== 'function') {
    return exported;
  }
  return function withoutValidation(startPouchDB, opts) {
    if (startPouchDB && !startPouchDB.defaults) {
      opts = startPouchDB;
      startPouchDB = null;
    }
    const overrideMode = Object.assign({}, (opts || {}).overrideMode);
    overrideMode.exclude = (overrideMode.exclude || []).concat(['validation']);
    const options = Object.assign({}, opts, { overrideMode: overrideMode });
    return startPouchDB ? exported(startPouchDB, options) : exported(options);
  };
};
