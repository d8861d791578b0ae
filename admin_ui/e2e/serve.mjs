// A small static server for the built app (dist/), with index.html as the SPA fallback.
// Used by the screenshot script; `make run` may use it too: node e2e/serve.mjs --port 4200 --config FILE
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json',
  '.ico': 'image/x-icon', '.woff2': 'font/woff2', '.woff': 'font/woff', '.svg': 'image/svg+xml', '.png': 'image/png',
};

export function startServer({ root, port = 0, host = '127.0.0.1', configFile = null }) {
  const base = resolve(root);
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    let file = join(base, path);
    if (path === '/config.json' && configFile) file = resolve(configFile);
    try {
      if (!file.startsWith(base) && file !== resolve(configFile ?? '')) throw new Error('outside root');
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
    } catch {
      file = join(base, 'index.html');
    }
    try {
      const body = await readFile(file);
      const cache = file.endsWith('index.html') || file.endsWith('config.json') ? 'no-cache' : 'public, max-age=31536000, immutable';
      res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Cache-Control': cache });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((ok) => server.listen(port, host, () => ok(server)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : fallback;
  };
  const root = arg('--root', fileURLToPath(new URL('../dist/admin-ui/browser', import.meta.url)));
  const server = await startServer({ root, port: Number(arg('--port', '4200')), configFile: arg('--config', null) });
  console.log(`ArtStore UI on http://127.0.0.1:${server.address().port}/ (from ${root})`);
}
