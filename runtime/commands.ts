export async function runCommand(cmd: string, args: string[]): Promise<number> { void args; throw new Error(`${cmd}: not built yet`); }
