// `prepack` of the published packages: refuses `npm pack` / `npm publish` (and yarn's), which copy
// package.json as it is. Its `workspace:^` ranges would make the tarball uninstallable
// (npm: EUNSUPPORTEDPROTOCOL). `pnpm pack` / `pnpm publish` write the real version ranges.
const agent = process.env.npm_config_user_agent ?? '';
if (!agent.startsWith('pnpm/')) {
  const name = process.env.npm_package_name ?? 'this package';
  console.error(
    `${name}: pack it with \`pnpm pack\` (or publish with \`pnpm publish\`): its package.json has ` +
      `workspace:^ ranges that only pnpm replaces with real versions (packing with ${agent.split(' ')[0] || 'an unknown tool'}).`,
  );
  process.exit(1);
}
