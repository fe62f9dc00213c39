import { libraryBuild } from '../../tsdown.shared.ts';

// The agent is a preload script for `node --import`: ES modules only, as its `exports` entry says.
export default libraryBuild({ esmOnly: ['src/agent/preload.ts'] });
