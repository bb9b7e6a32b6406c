// Runs the real puter.js SDK (pinned in package.json) in Node against a Puter-compatible
// origin and prints what it made of each chat reply, as one JSON line per call.
//
//   node chat.cjs ORIGIN TOKEN MODEL[:normalize] ...
//
// For each model: {"model", "normalize", "text"} where text is String(response), as a
// program would print the reply, or {"model", "normalize", "error"} if that throws, with
// "content" the raw message content either way. Run by tests/e2e/test_puterjs.py.
'use strict';

const [origin, token, ...specs] = process.argv.slice(2);
globalThis.PUTER_API_ORIGIN = origin;
const { init } = require('@heyputer/puter.js/src/init.cjs');

async function main () {
    const puter = init(token);
    for ( const spec of specs ) {
        const [model, flag] = spec.split(':');
        const options = { model };
        if ( flag !== undefined ) options.normalize = flag === 'true';
        const out = { model, normalize: flag === undefined ? null : options.normalize };
        try {
            const response = await puter.ai.chat('Hello from puter.js', options);
            out.content = response.message ? response.message.content : null;
            out.normalized = response.normalized === true;
            try {
                out.text = String(response);
            } catch ( err ) {
                out.error = String(err && err.message ? err.message : err);
            }
        } catch ( err ) {
            out.error = 'call failed: ' + JSON.stringify(err && err.message ? err.message : err);
        }
        process.stdout.write(JSON.stringify(out) + '\n');
    }
}

main().then(() => process.exit(0), (err) => {
    process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
    process.exit(1);
});
