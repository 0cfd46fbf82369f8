/** This source tree's version (package.json's; a unit test keeps the two equal). */
export const ARGUS_VERSION = '0.1.0';
