namespace Sandbox.Core;

/// <summary>How the workload ended: an exit code, or the signal that killed it.</summary>
public readonly record struct ExitStatus(int? Code, int? Signal, bool OomKilled = false)
{
    public static ExitStatus Exited(int code) => new(code, null);
    public static ExitStatus Killed(int signal, bool oomKilled = false) => new(null, signal, oomKilled);

    /// <summary>The shell's convention, which <c>sandbox run</c> exits with: the code, or 128 + signal.</summary>
    public int ShellCode => Code ?? 128 + (Signal ?? 0);

    public override string ToString() =>
        OomKilled ? $"killed by the OOM killer (signal {Signal})"
        : Code is int c ? $"exited with code {c}"
        : $"killed by signal {Signal}";
}
