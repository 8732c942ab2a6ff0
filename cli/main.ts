import { COMMANDS } from './command-table';

const HELP = `sparsebook — sparsity workbench, headless

Commands:
${Object.values(COMMANDS)
  .map((c) => '  ' + c.summary)
  .join('\n')}`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(HELP);
    return name ? 0 : 2;
  }
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!entry) {
    console.error(`unknown command '${name}'\n\n${HELP}`);
    return 2;
  }
  // Loaded here, not at the top: `--help` and typos never pay for the runtime's import.
  const [command, { UsageError }] = await Promise.all([entry.load(), import('./args')]);
  try {
    await command.run(rest, (line) => console.log(line));
    return 0;
  } catch (e) {
    const err = e as Error;
    console.error(
      `sparsebook ${name}: ${err instanceof UsageError ? err.message : `${err.name}: ${err.message}`}`,
    );
    return err instanceof UsageError ? 2 : 1;
  }
}

// Exit explicitly: Dawn (Node WebGPU) can keep the event loop alive after the device is destroyed.
process.exit(await main(process.argv.slice(2)));
