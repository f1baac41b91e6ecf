import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ChunkedBodyWriter } from './chunked-body-writer.js';

/**
 * The data plane's writer of streamed bodies, on a real server and raw client sockets: the
 * bytes on the wire must be exactly what Node's own res.write would have sent, whatever
 * came before on the connection (keep-alive, pipelining, HTTP/1.0).
 */

let server: Server | null = null;
afterEach(async () => {
  if (server) await new Promise((resolve) => server!.close(resolve));
  server = null;
});

/** A server answering every request with `parts` written through the writer (or res.write when `plain`). */
async function serve(parts: Array<string | Buffer>, plain = false, flush = true): Promise<number> {
  server = createServer((req, res: ServerResponse) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    if (flush) res.flushHeaders();
    const writer = new ChunkedBodyWriter(res);
    for (const part of parts) {
      if (plain) res.write(part);
      else writer.write(part);
    }
    res.end();
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** Sends `requests` on one connection and collects everything until `answers` chunked answers ended (or the server closed). */
function exchange(port: number, requests: string, answers: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(requests));
    let text = '';
    socket.on('data', (d: Buffer) => {
      text += d.toString('utf8');
      if ((text.match(/0\r\n\r\n/g) ?? []).length >= answers) {
        socket.destroy();
        resolve(text);
      }
    });
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

const GET = 'GET / HTTP/1.1\r\nhost: x\r\n\r\n';
const strip = (text: string): string => text.replace(/^date: .*\r\n/gim, '');

describe('chunked body writer', () => {
  it('puts on the wire exactly what res.write would, UTF-8 strings included', async () => {
    const parts = ['data: one\n\n', Buffer.from('data: two\n\n'), 'data: é😀\n\n', ''];
    const direct = strip(await exchange(await serve(parts), GET, 1));
    await new Promise((resolve) => server!.close(resolve));
    const viaNode = strip(await exchange(await serve(parts, true), GET, 1));
    expect(direct).toBe(viaNode);
    expect(direct).toContain('\r\n\r\nb\r\ndata: one\n\n\r\nb\r\ndata: two\n\n\r\ne\r\ndata: é😀\n\n\r\n0\r\n\r\n');
  });

  it('keeps answers in order on a kept-alive and a pipelined connection', async () => {
    const port = await serve(['data: x\n\n']);
    const text = await exchange(port, GET + GET + GET, 3);
    const bodies = text.split('HTTP/1.1 200 OK').slice(1).map((answer) => answer.slice(answer.indexOf('\r\n\r\n') + 4));
    expect(bodies).toEqual(['9\r\ndata: x\n\n\r\n0\r\n\r\n', '9\r\ndata: x\n\n\r\n0\r\n\r\n', '9\r\ndata: x\n\n\r\n0\r\n\r\n']);
  });

  it('lets Node send a head it holds back before the first chunk', async () => {
    // writeHead alone only records the head; Node writes it with the first body bytes.
    const text = await exchange(await serve(['data: x\n\n', 'data: y\n\n'], false, false), GET + GET, 2);
    const bodies = text.split('HTTP/1.1 200 OK').slice(1).map((answer) => answer.slice(answer.indexOf('\r\n\r\n') + 4));
    expect(text.startsWith('HTTP/1.1 200 OK')).toBe(true);
    expect(bodies).toEqual(['9\r\ndata: x\n\n\r\n9\r\ndata: y\n\n\r\n0\r\n\r\n', '9\r\ndata: x\n\n\r\n9\r\ndata: y\n\n\r\n0\r\n\r\n']);
  });

  it('says when the client is not reading, and when it has caught up', async () => {
    let drained: Promise<void> | null = null;
    let refused = false;
    server = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders();
      const writer = new ChunkedBodyWriter(res);
      const part = Buffer.alloc(64 * 1024, 0x61);
      let writes = 0;
      while (writer.write(part)) writes++;
      expect(writes).toBeLessThan(1000);
      drained = new Promise((resolve) => writer.onceDrain(() => resolve(void res.end())));
      refused = true;
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1', () => socket.write(GET));
    socket.pause();
    await expect.poll(() => refused).toBe(true);
    socket.resume();
    await drained;
    socket.destroy();
  });

  it('leaves an HTTP/1.0 answer to Node, which does not chunk it', async () => {
    const port = await serve(['data: x\n\n']);
    const text = await exchange(port, 'GET / HTTP/1.0\r\nhost: x\r\n\r\n', 1);
    expect(text.endsWith('\r\n\r\ndata: x\n\n')).toBe(true);
  });
});

describe('chunked body writer after the end', () => {
  it('never puts a chunk on the wire after the body\'s last chunk (the next answer on the connection would start with it)', async () => {
    let written: boolean | null = null;
    const errors: string[] = [];
    server = createServer((req, res) => {
      req.resume();
      res.on('error', (error: Error & { code?: string }) => void errors.push(error.code ?? error.message));
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders();
      const writer = new ChunkedBodyWriter(res);
      writer.write('data: x\n\n');
      res.end();
      written = writer.write('data: late\n\n');
    });
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1', () => socket.write(GET));
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    await expect.poll(() => written).not.toBeNull();
    // A second answer on the same connection: whatever the first left on the socket came before it.
    socket.write(GET);
    await expect.poll(() => (text.match(/0\r\n\r\n/g) ?? []).length).toBe(2);
    socket.destroy();
    expect(text).not.toContain('late');
    expect(written).toBe(false);
    // What res.write says of a write after its end.
    await expect.poll(() => errors).toContain('ERR_STREAM_WRITE_AFTER_END');
  });
});
