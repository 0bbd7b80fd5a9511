// Entry point for nx.json "plugins": ["sidebundle/plugin"] (the compiled plugin lives in dist/).
module.exports = require('./dist/plugins/plugin.js');
