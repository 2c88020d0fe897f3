// Chat-template oracle for Folio's tests: @huggingface/jinja renders templates with contexts.
// stdin: {"cases": [{"template": "...", "context": {...}}, ...]}
// stdout: {"results": [{"output": "..."} | {"error": "..."}, ...]}
import { Template } from '@huggingface/jinja';
import { readFileSync } from 'node:fs';

const request = JSON.parse(readFileSync(0, 'utf8'));
const results = request.cases.map(c => {
  try {
    return { output: new Template(c.template).render(c.context) };
  } catch (e) {
    return { error: String(e && e.message || e) };
  }
});
process.stdout.write(JSON.stringify({ results }));
