namespace Sandbox.Core;

/// <summary>The workload as it will be executed: the image config merged with the run's arguments.</summary>
public sealed record ProcessSpec(
    IReadOnlyList<string> Argv,
    IReadOnlyList<string> Env,
    string WorkingDir,
    string User)
{
    public const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// <summary>
    /// Docker's precedence: an ENTRYPOINT override drops the image's CMD; run arguments replace CMD;
    /// argv = entrypoint + cmd. Run env wins over image env by key; PATH gets a default when neither sets it, and TERM
    /// (xterm) when the process has a terminal.
    /// </summary>
    public static ProcessSpec Resolve(ImageConfig image, SandboxSpec spec)
    {
        IReadOnlyList<string> entrypoint;
        IReadOnlyList<string> cmd;
        if (spec.Entrypoint is not null)
        {
            entrypoint = spec.Entrypoint;
            cmd = spec.Args;
        }
        else
        {
            entrypoint = image.Entrypoint ?? [];
            cmd = spec.Args.Count > 0 ? spec.Args : image.Cmd ?? [];
        }
        var argv = entrypoint.Concat(cmd).ToArray();
        if (argv.Length == 0)
            throw new SandboxException(SandboxFailure.InvalidSpec, $"image '{spec.Image}' has no default command and none was given");

        var env = MergeEnv(image.Env, spec.Env);
        // A bundle's env is exactly its config's (runc adds neither PATH nor TERM).
        if (spec.Bundle is null)
        {
            if (!env.Any(e => e.StartsWith("PATH=", StringComparison.Ordinal) || e == "PATH")) env.Insert(0, "PATH=" + DefaultPath);
            if (spec.Tty) AddTerm(env);
        }

        var workDir = spec.WorkingDir ?? (string.IsNullOrEmpty(image.WorkingDir) ? "/" : image.WorkingDir);
        if (!workDir.StartsWith('/'))
            throw new SandboxException(SandboxFailure.InvalidSpec, $"working directory '{workDir}' is not absolute");
        var user = spec.User ?? (string.IsNullOrEmpty(image.User) ? "0" : image.User);
        return new ProcessSpec(argv, env, workDir, user);
    }

    /// <summary>
    /// docker's exec: the sandbox's resolved environment with the exec's <c>-e</c> entries winning by key, the
    /// sandbox's user and working directory unless <c>-u</c> / <c>-w</c> say otherwise.
    /// </summary>
    public ProcessSpec ForExec(ExecSpec exec)
    {
        if (exec.Args.Count == 0)
            throw new SandboxException(SandboxFailure.InvalidSpec, "exec needs a command");
        if (exec.WorkingDir is string w && !w.StartsWith('/'))
            throw new SandboxException(SandboxFailure.InvalidSpec, $"working directory '{w}' is not absolute");
        var env = MergeEnv(Env, exec.Env);
        if (exec.Tty) AddTerm(env);
        return new ProcessSpec(exec.Args.ToArray(), env, exec.WorkingDir ?? WorkingDir,
            string.IsNullOrEmpty(exec.User) ? User : exec.User);
    }

    /// <summary>docker and podman give a process with a terminal <c>TERM=xterm</c> unless the image or the caller set one.</summary>
    private static void AddTerm(List<string> env)
    {
        if (!env.Any(e => EnvKey(e) == "TERM")) env.Add("TERM=xterm");
    }

    private static List<string> MergeEnv(IEnumerable<string> first, IEnumerable<string> second)
    {
        var env = new List<string>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in first.Concat(second))
        {
            var key = EnvKey(entry);
            if (key.Length == 0)
                throw new SandboxException(SandboxFailure.InvalidSpec, $"invalid environment entry '{entry}'");
            if (index.TryGetValue(key, out int at)) env[at] = entry;
            else { index[key] = env.Count; env.Add(entry); }
        }
        return env;
    }

    private static string EnvKey(string entry)
    {
        int eq = entry.IndexOf('=');
        return eq < 0 ? entry : entry[..eq];
    }
}
