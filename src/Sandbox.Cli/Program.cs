using Sandbox.Cli;

return await CommandLine.RunAsync(args).ConfigureAwait(false);
