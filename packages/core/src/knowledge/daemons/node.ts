// Node.js application: how it listens by default and the change that makes it dual-stack
// (the entry's shape and shared helpers: model.ts; the list: index.ts).
import { BOTH, check, MAPPED, unit, type DaemonKnowledge } from './model.js';

export const node: DaemonKnowledge = {
  id: 'node',
  displayName: 'Node.js application',
  processNames: ['node', 'nodejs'],
  configFile: "the application's listen() call or its HOST/PORT settings (often Environment= in its systemd unit); Node has no global config file",
  defaultListening:
    'server.listen(port) without a host binds :: when IPv6 is available: one socket that also takes IPv4 as ::ffff: (ipv6Only defaults to false); host "0.0.0.0" is IPv4-only, and { host: "::", ipv6Only: true } IPv6-only.',
  addIpv6(ctx) {
    const code =
      ctx.proto === 'tcp'
        ? `server.listen({ port: ${ctx.port}, host: '::' })`
        : `dgram.createSocket('udp6').bind(${ctx.port}, '::')`;
    return {
      summary: `The application binds 0.0.0.0 (often HOST=0.0.0.0). Bind :: instead: one socket serves IPv4 (mapped) and IPv6.`,
      commands: [
        `// replace the listen call (or set HOST=::):`,
        code,
        `systemctl restart ${unit(ctx, '{unit}')}`,
        check(ctx, MAPPED),
      ],
    };
  },
  addIpv4(ctx) {
    const code =
      ctx.proto === 'tcp'
        ? `server.listen({ port: ${ctx.port}, host: '::', ipv6Only: false })`
        : `dgram.createSocket({ type: 'udp6', ipv6Only: false }).bind(${ctx.port}, '::')`;
    return {
      summary: 'The application binds :: with ipv6Only: true (or an IPv6 address, or net.ipv6.bindv6only=1). Bind :: with ipv6Only off.',
      commands: [
        '// replace the listen call:',
        code,
        'sysctl net.ipv6.bindv6only   # must print 0',
        `systemctl restart ${unit(ctx, '{unit}')}`,
        check(ctx, MAPPED),
      ],
    };
  },
  separateSockets(ctx) {
    const code =
      ctx.proto === 'tcp'
        ? [
            `http.createServer(app).listen({ port: ${ctx.port}, host: '0.0.0.0' })`,
            `http.createServer(app).listen({ port: ${ctx.port}, host: '::', ipv6Only: true })`,
          ]
        : [
            `dgram.createSocket('udp4').bind(${ctx.port}, '0.0.0.0')`,
            `dgram.createSocket({ type: 'udp6', ipv6Only: true }).bind(${ctx.port}, '::')`,
          ];
    return {
      summary: 'The application takes IPv4 on its :: socket. A net.Server listens once, so create one server per family with the same handler.',
      commands: ['// one listener per family:', ...code, `systemctl restart ${unit(ctx, '{unit}')}`, check(ctx, BOTH)],
    };
  },
  aclDirective:
    'req.socket.remoteAddress (and Express req.ip) is "::ffff:192.0.2.1" for IPv4 clients on a :: socket; IP allow-lists and rate limits in application code must strip the ::ffff: prefix or compare parsed addresses.',
  sources: [
    'Node.js net: server.listen() host omitted → ::, ipv6Only option — https://nodejs.org/api/net.html#serverlistenoptions-callback',
    'nodejs/node#9390: listening on :: also accepts IPv4 — https://github.com/nodejs/node/issues/9390',
  ],
};
