// Headless Debian chromium through playwright-core (no browser download), loopback only.
import { chromium } from 'playwright-core';

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--disable-quic', '--no-first-run',
];

export async function launch() {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true });
}

/** Every request that does not go to this machine is aborted. */
export async function loopbackOnly(context) {
  await context.route('**/*', (route) => {
    const { hostname, protocol } = new URL(route.request().url());
    const local = ['127.0.0.1', 'localhost', '[::1]', '::1'].includes(hostname);
    if (local || protocol === 'data:' || protocol === 'blob:') return route.fallback();
    return route.abort();
  });
}
