import { defrostTestProjects } from '../../vitest.shared.js';

export default defrostTestProjects();
