#!/usr/bin/env node
// The `kpi` executable: keeps user output clean of the AWS SDK's Node-version notice, then runs the CLI.
const emit = process.emitWarning;
process.emitWarning = function (warning, ...rest) {
  const text = typeof warning === 'string' ? warning : warning && warning.message;
  if (text && text.includes('AWS SDK for JavaScript')) return;
  return emit.call(process, warning, ...rest);
};
require('../dist/runtime/cli/cli.js')
  .main(process.argv.slice(2))
  .then(
    (code) => {
      process.exitCode = code;
    },
    // A failure exits at once: a half-started server must not keep the process alive.
    (err) => {
      console.error(`kpi: ${err && err.message ? err.message : err}`);
      process.exit(1);
    },
  );
