// Verifies Standard Webhooks signatures with the reference implementation (npm standardwebhooks 1.1.1), which shares
// no code with ours. Reads one JSON object on stdin: { payload, headers: { "webhook-id", ... }, secrets: [whsec_...] }
// and prints one line of JSON: for each secret, "ok" or the verifier's error message.
'use strict';
const { Webhook } = require('standardwebhooks');

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const request = JSON.parse(input);
  const results = request.secrets.map((secret) => {
    try {
      new Webhook(secret).verify(request.payload, request.headers);
      return 'ok';
    } catch (e) {
      return String(e.message || e);
    }
  });
  process.stdout.write(JSON.stringify(results) + '\n');
});
