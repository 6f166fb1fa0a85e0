import { describe, expect, it } from 'vitest';
import { detectImportFormat, ImportFileError, parseImportFile } from './import-rows.ts';

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

describe('CSV rows', () => {
  it('reads quoted cells (a comma, a quote and a line break inside quotes), a BOM and CRLF line ends', () => {
    const csv =
      '\uFEFFname,partition,accessKeyId,secretAccessKey,bundles,description\r\n' +
      `"Prod, EU",aws,AKIAPRODEU0000000001,${SECRET},"default",\r\n` +
      `"The ""blue"" team",aws-us-gov,AKIABLUE000000000002,${SECRET},ec2-read;s3-read,"two\r\nlines"\r\n`;
    const parsed = parseImportFile(csv, 'csv');
    expect(parsed.problems).toEqual([]);
    expect(parsed.rows.map((r) => [r.row, r.line, r.label])).toEqual([
      [1, 2, 'Prod, EU'],
      [2, 3, 'The "blue" team'],
    ]);
    expect(parsed.rows[0]?.input).toMatchObject({
      method: 'access_keys',
      name: 'Prod, EU',
      partition: 'aws',
      accessKeyId: 'AKIAPRODEU0000000001',
      secretAccessKey: SECRET,
      bundles: 'default',
    });
    expect(parsed.rows[1]?.input).toMatchObject({
      partition: 'aws-us-gov',
      bundles: ['ec2-read', 's3-read'],
      description: 'two\nlines',
    });
  });

  it('skips blank lines and lines of empty cells, and numbers rows by the file’s lines', () => {
    const csv = `name,partition,accessKeyId,secretAccessKey\n\nA,aws,AKIAAAAAAAAAAAAAAAA1,${SECRET}\n,,,\n\nB,aws,AKIAAAAAAAAAAAAAAAA2,${SECRET}\n`;
    const parsed = parseImportFile(csv, 'csv');
    expect(parsed.rows.map((r) => [r.label, r.line])).toEqual([
      ['A', 3],
      ['B', 6],
    ]);
  });

  it('ignores unknown columns and says which; matches column names ignoring case, _ and -', () => {
    const csv = `Name,PARTITION,access_key_id,secret-access-key,owner,cost centre\nA,aws,AKIAAAAAAAAAAAAAAAA1,${SECRET},ops,42\n`;
    const parsed = parseImportFile(csv, 'csv');
    expect(parsed.problems).toEqual([]);
    expect(parsed.rows[0]?.input).toMatchObject({ name: 'A', accessKeyId: 'AKIAAAAAAAAAAAAAAAA1' });
    expect(parsed.ignoredColumns).toEqual(['owner', 'cost centre']);
  });

  it('fails a bad row naming its row and column, and never shows the secret', () => {
    const csv =
      'name,partition,accessKeyId,secretAccessKey,regions\n' +
      `Good,aws,AKIAAAAAAAAAAAAAAAA1,${SECRET},\n` +
      `Bad partition,aws-moon,AKIAAAAAAAAAAAAAAAA2,${SECRET},eu-west-1\n` +
      `No secret,aws,AKIAAAAAAAAAAAAAAAA3,,\n` +
      `Bad region,aws,AKIAAAAAAAAAAAAAAAA4,${SECRET},europe\n` +
      `Twin,aws,AKIAAAAAAAAAAAAAAAA1,${SECRET},\n`;
    const parsed = parseImportFile(csv, 'csv');
    expect(parsed.rows.map((r) => r.label)).toEqual(['Good']);
    const byRow = Object.fromEntries(
      parsed.problems.map((p) => [p.row, p.issues.map((i) => i.column)]),
    );
    expect(byRow).toEqual({
      2: ['partition'],
      3: ['secretAccessKey'],
      4: ['regions'],
      5: ['accessKeyId'],
    });
    expect(parsed.problems.find((p) => p.row === 5)?.issues[0]?.message).toContain('row 1');
    expect(JSON.stringify(parsed.problems)).not.toContain(SECRET);
  });

  it('reads a role row by its roleArn and connectionId', () => {
    const csv =
      'roleArn,connectionId,name\narn:aws:iam::123456789012:role/OnrampRole,con_abc,Role one\n';
    const parsed = parseImportFile(csv, 'csv');
    expect(parsed.rows[0]?.input).toEqual({
      method: 'role',
      roleArn: 'arn:aws:iam::123456789012:role/OnrampRole',
      connectionId: 'con_abc',
      name: 'Role one',
    });
  });

  it('refuses a row with neither access keys nor a role, and a file that is not CSV', () => {
    const parsed = parseImportFile('name,partition\nLonely,aws\n', 'csv');
    expect(parsed.problems[0]?.issues[0]?.message).toMatch(/accessKeyId and secretAccessKey/);
    expect(() => parseImportFile('name,partition\n"unclosed,aws\n', 'csv')).toThrow(
      ImportFileError,
    );
    expect(() => parseImportFile('a,b\n1,2,3\n', 'csv')).toThrow(/not valid CSV/);
    expect(() => parseImportFile('', 'csv')).toThrow(/empty/);
  });
});

describe('YAML rows', () => {
  it('reads a list (or accounts: with a list), lists as lists, and lines of each item', () => {
    const yaml = `accounts:
  - name: A
    partition: aws
    accessKeyId: AKIAAAAAAAAAAAAAAAA1
    secretAccessKey: ${SECRET}
    bundles: [ec2-read, s3-read]
    regions: eu-west-1 us-east-1
  - name: B
    roleArn: arn:aws:iam::123456789012:role/R
    connectionId: con_1
    acceptMissingPermissions: true
`;
    const parsed = parseImportFile(yaml, 'yaml');
    expect(parsed.problems).toEqual([]);
    expect(parsed.rows.map((r) => [r.row, r.line])).toEqual([
      [1, 2],
      [2, 8],
    ]);
    expect(parsed.rows[0]?.input).toMatchObject({
      bundles: ['ec2-read', 's3-read'],
      regions: ['eu-west-1', 'us-east-1'],
    });
    expect(parsed.rows[1]?.input).toMatchObject({ method: 'role', acceptMissingPermissions: true });
    expect(
      parseImportFile(yaml.replace('accounts:\n', '').replace(/^ {2}/gm, ''), 'yaml').rows,
    ).toHaveLength(2);
  });

  it('fails an item that is not a mapping, and a file that is not a list', () => {
    const parsed = parseImportFile('- just text\n', 'yaml');
    expect(parsed.problems[0]?.issues[0]?.column).toBe('(row)');
    expect(() => parseImportFile('name: A\n', 'yaml')).toThrow(/YAML list/);
    expect(() => parseImportFile('- [unclosed\n', 'yaml')).toThrow(/not valid YAML/);
  });
});

describe('the format', () => {
  it('comes from --format, else the extension', () => {
    expect(detectImportFormat('a.CSV', undefined)).toBe('csv');
    expect(detectImportFormat('a.yml', undefined)).toBe('yaml');
    expect(detectImportFormat('a.txt', 'yaml')).toBe('yaml');
    expect(() => detectImportFormat('a.txt', undefined)).toThrow(/--format/);
    expect(() => detectImportFormat('a.csv', 'xml')).toThrow(/--format/);
  });
});
