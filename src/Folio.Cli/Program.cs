using Folio.Cli.CommandLine;

return await FolioCli.RunAsync(args, CliContext.ForConsole(), handleSignals: true);
