// Runs the real puter.js SDK (pinned in package.json) in Node against a Puter-compatible origin
// for what goes beyond plain chat, and prints one JSON line per step: the account's monthly
// usage, a chat with reasoning effort and verbosity, one with the web_search tool, the voice
// list, and a voice-changer and a video call in test mode. Run by tests/e2e/test_puterjs_beyond_chat.py,
// which compares what the sandbox received with what PuterClient sends.
//
//   node beyond.cjs ORIGIN TOKEN
'use strict';

const [origin, token] = process.argv.slice(2);
globalThis.PUTER_API_ORIGIN = origin;
const { init } = require('@heyputer/puter.js/src/init.cjs');

async function step (name, run) {
    const out = { step: name };
    try {
        const value = await run();
        out.value = value === undefined ? null : JSON.parse(JSON.stringify(value));
    } catch ( err ) {
        out.error = String(err && err.message ? err.message : JSON.stringify(err));
    }
    process.stdout.write(JSON.stringify(out) + '\n');
}

async function main () {
    const puter = init(token);
    await step('usage', () => puter.auth.getMonthlyUsage());
    await step('effort', async () => String(await puter.ai.chat('effort please', {
        model: 'sandbox-tutor-lite', reasoning_effort: 'high', verbosity: 'low',
    })));
    await step('web', async () => {
        const reply = await puter.ai.chat('list comprehensions', {
            model: 'sandbox-searcher', tools: [{ type: 'web_search' }],
        });
        return reply.message.annotations;
    });
    await step('voices', () => puter.ai.txt2speech.listVoices({ provider: 'sandbox' }));
    await step('voice', () => puter.ai.speech2speech({ audio: 'data:audio/wav;base64,UklGRg==', voice: 'bass' }, true).then(() => 'ok'));
    await step('video', () => puter.ai.txt2vid('a kite', true).then(() => 'ok'));
}

main().then(() => process.exit(0), (err) => {
    process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
    process.exit(1);
});
