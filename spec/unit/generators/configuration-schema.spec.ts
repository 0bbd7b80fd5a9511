// The configuration generator's schema.json is written by hand (Nx reads it as JSON, so it cannot
// import the lists): these checks hold it to the facts the engine declares once.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import { NX_OUT_DIR } from '../../../lib/config/nx-paths';
import { RUN_MODES } from '../../../lib/model/options';
import { TRACE_BACKEND_REQUESTS } from '../../../lib/model/trace';

const schema = JSON.parse(readFileSync(path.resolve(__dirname, '../../../generators/configuration/schema.json'), 'utf8')) as {
  properties: Record<string, { enum?: string[]; description?: string }>;
};

test('its traceBackend choices are the trace backends the engine takes', () => {
  expect(schema.properties.traceBackend?.enum).toEqual([...TRACE_BACKEND_REQUESTS]);
});

test('its runMode choices are the run modes', () => {
  expect(schema.properties.runMode?.enum).toEqual([...RUN_MODES]);
});

test('its outDir says the default the plugin uses', () => {
  expect(schema.properties.outDir?.description).toContain(`default ${NX_OUT_DIR}`);
});
