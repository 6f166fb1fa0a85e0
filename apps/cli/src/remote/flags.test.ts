import { describe, expect, it } from 'vitest';
import { describeRun, runCli } from '../testing.ts';

describe('a mistyped secret flag', () => {
  it('is refused without printing the value it was given', async () => {
    const secret = 'Wwe30owdzX3JgzraJ+OmGugVF0LgtSDDm5Rdu6XW';
    const add = await runCli(['accounts', 'add', '--partition', 'aws', `--secret=${secret}`]);
    expect(add.code, describeRun(add)).toBe(2);
    expect(add.stderr).toContain("error: unknown option '--secret=…' (its value not shown)");
    expect(add.stderr).not.toContain(secret);

    const login = await runCli(['login', '--tokn=onr_typedByMistake000000']);
    expect(login.code, describeRun(login)).toBe(2);
    expect(login.stderr).not.toContain('onr_typedByMistake');
  });

  it('still names an unknown flag given without a value', async () => {
    const list = await runCli(['accounts', 'list', '--colour']);
    expect(list.code, describeRun(list)).toBe(2);
    expect(list.stderr).toContain("error: unknown option '--colour'");
  });
});
