namespace Sandbox.Cli;

/// <summary>The command line is wrong: a one-line message, exit 125 (docker's code for its own errors).</summary>
public sealed class UsageException(string message) : Exception(message);
