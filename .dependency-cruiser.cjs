/**
 * The dependency rule of the relay, checked in CI (`npm run depcheck`):
 *
 *   domain, observability  ←  config  ←  feed, policy, mail, store, audit, certs  ←  delivery  ←  app
 *
 * A folder may import from its left, never from its right; within the middle
 * row imports are allowed as long as they form no cycle, with two exceptions
 * that keep the pure parts pure: policy/ imports only domain and config, and
 * store/ knows nothing of the feed, the policy or mail. tools/ and test/ may
 * import anything in src/; src/ never imports them.
 * docs/architecture.md explains the layers.
 */
const layer = (name) => `^src/${name}/`;
const MIDDLE = '^src/(feed|policy|mail|store|audit|certs)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'import cycles make the order of initialisation an accident', from: {}, to: { circular: true } },
    { name: 'src-not-tools-or-test', severity: 'error', comment: 'the image ships src/ only', from: { path: '^src/' }, to: { path: '^(tools|test)/' } },
    { name: 'src-no-dev-dependencies', severity: 'error', comment: 'what src/ imports must be a runtime dependency: the image installs nothing else', from: { path: '^src/' }, to: { dependencyTypes: ['npm-dev'] } },
    { name: 'domain-is-the-base', severity: 'error', from: { path: layer('domain') }, to: { path: '^src/', pathNot: layer('domain') } },
    { name: 'observability-is-a-base', severity: 'error', from: { path: layer('observability') }, to: { path: '^src/', pathNot: `${layer('observability')}|${layer('domain')}` } },
    { name: 'config-above-domain-only', severity: 'error', from: { path: layer('config') }, to: { path: '^src/', pathNot: `${layer('config')}|${layer('domain')}|${layer('observability')}` } },
    { name: 'middle-not-upwards', severity: 'error', comment: 'feed, policy, mail, store, audit and certs do not know delivery, the app or the simulator', from: { path: MIDDLE }, to: { path: '^src/(delivery|app|simulator)/' } },
    { name: 'policy-is-pure', severity: 'error', comment: 'the decision table depends on the melding and the routing, nothing with I/O', from: { path: layer('policy') }, to: { path: '^src/', pathNot: `${layer('policy')}|${layer('domain')}|${layer('config')}` } },
    { name: 'store-below-feed-policy-mail', severity: 'error', comment: 'the store keeps data; it does not judge, mail or read the feed', from: { path: layer('store') }, to: { path: '^src/(feed|policy|mail|certs)/' } },
    { name: 'delivery-not-app', severity: 'error', from: { path: layer('delivery') }, to: { path: '^src/(app|simulator)/' } },
    { name: 'simulator-stands-apart', severity: 'error', comment: 'the ROD stand-in shares the melding, the feed contract, the Edukoppeling contract module and the xml-crypto adapter (how a reference finds its element, how a signature is put in place) with the relay, nothing else', from: { path: layer('simulator') }, to: { path: '^src/', pathNot: `${layer('simulator')}|${layer('domain')}|^src/feed/contract\\.ts$|^src/feed/edukoppeling/(contract|xml-crypto-parts)\\.ts$|${layer('observability')}` } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
