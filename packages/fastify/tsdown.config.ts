import { libraryBuild } from '../../tsdown.shared.ts';

export default libraryBuild();
