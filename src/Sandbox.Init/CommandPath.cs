using Sandbox.Protocol;

namespace Sandbox.Init;

/// <summary>Finds the workload's executable the way execvp would, in the environment the workload will get.</summary>
public static class CommandPath
{
    public static string Resolve(string[] argv, string[] env, string workingDir)
    {
        if (argv.Length == 0 || argv[0].Length == 0)
            throw new InitSetupException(InitFailure.Spec, "no command given");
        var command = argv[0];
        if (command.Contains('/'))
        {
            var path = command.StartsWith('/') ? command : Path.Combine(workingDir, command);
            if (Directory.Exists(path))
                throw new InitSetupException(InitFailure.CommandNotExecutable, $"exec {command}: is a directory, not a program", 13 /* EACCES */);
            return path;
        }

        var pathVar = env.LastOrDefault(e => e.StartsWith("PATH=", StringComparison.Ordinal))?[5..]
            ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        string? nonExecutable = null;
        foreach (var dir in pathVar.Split(':'))
        {
            var candidate = Path.Combine(dir.Length == 0 ? workingDir : dir, command);
            if (!File.Exists(candidate)) continue;
            var mode = File.GetUnixFileMode(candidate);
            if ((mode & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0)
                return candidate;
            nonExecutable ??= candidate;
        }
        if (nonExecutable is not null) return nonExecutable; // execve reports EACCES: exit 126
        throw new InitSetupException(InitFailure.CommandNotFound,
            $"exec: \"{command}\": executable file not found in $PATH", 2);
    }
}
