/**
 * Nothing lost: the relay is killed (SIGKILL, no clean-up) in the middle of
 * reading the feed and again in the middle of delivering. After a restart
 * every melding has been mailed, at least once, and a mail sent twice carries
 * the same Message-ID both times.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startDaemon, type Daemon } from '../support/relay-process.js';
import { PROTOCOLS } from '../support/config.js';
import { createWorld, type World } from '../support/world.js';

const pki = inject('pkiG4');

async function killWhen(daemon: Daemon, event: string, count: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (daemon.logs().filter((l) => l.event === event).length < count) {
    if (Date.now() > deadline) throw new Error(`never saw ${count} × ${event}:\n${daemon.stdout().slice(-2000)}`);
    if (daemon.child.exitCode !== null) throw new Error(`the relay ended before ${count} × ${event}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  daemon.child.kill('SIGKILL');
  await daemon.exited;
}

describe.each(PROTOCOLS)('a crash at any moment loses nothing (%s)', (protocol) => {
  let world: World;
  beforeAll(async () => {
    world = await createWorld({ pki, protocol });
  });
  afterAll(async () => {
    await world?.close();
  });

  it('mails every melding after being killed while fetching and while delivering', async () => {
    const meldingen = Array.from({ length: 60 }, () => world.feed.append(world.generator.nieuweMelding()));

    // Killed after a few pages of the 20 (page size 3) were stored.
    await killWhen(startDaemon(['once', '--config', world.configFile]), 'page.stored', 4);
    const sentAfterFirstKill = world.catcher.mails.length;

    // Killed again while mails are leaving.
    await killWhen(startDaemon(['once', '--config', world.configFile]), 'mail.sent', 5);

    const final = await world.once();
    expect(final.code, final.stderr).toBe(0);

    const mails = await world.parsedMails();
    const byMessageId = new Map<string, string>();
    for (const mail of mails) {
      const nr = String(mail.headers.get('x-verzuim-meldingsnummer'));
      const previous = byMessageId.get(mail.messageId!);
      if (previous) expect(previous).toBe(nr); // a resend is recognisable: same Message-ID, same melding
      byMessageId.set(mail.messageId!, nr);
    }
    const mailed = new Set(byMessageId.values());
    for (const m of meldingen) expect(mailed.has(m.meldingsnummer), `melding ${m.meldingsnummer} was lost`).toBe(true);
    expect(byMessageId.size).toBe(60);
    expect(sentAfterFirstKill).toBeLessThan(60);

    const audit = await world.cli('audit', 'verify');
    expect(audit.code).toBe(0);
  });
});
