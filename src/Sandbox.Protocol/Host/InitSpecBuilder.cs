using Sandbox.Core;

namespace Sandbox.Protocol.Host;

/// <summary>
/// The one place both backends turn a <see cref="SandboxSpec"/> and its image into what init runs: the resolved
/// <see cref="ProcessSpec"/> (kept by the sandbox for later execs) and the <see cref="InitSpec"/>. Only the root's
/// source differs per backend (<see cref="InitSpec.Lower"/>, upper/work dirs, mounts), which the caller sets.
/// </summary>
public static class InitSpecBuilder
{
    public static (ProcessSpec Process, InitSpec Init) Build(SandboxSpec spec, ImageConfig image, string id, InitMode mode,
        ushort ttyRows = 0, ushort ttyColumns = 0)
    {
        var process = ProcessSpec.Resolve(image, spec);
        var init = new InitSpec
        {
            Mode = mode,
            Argv = [.. process.Argv],
            Env = [.. process.Env],
            WorkingDir = process.WorkingDir,
            User = process.User,
            Hostname = spec.Hostname ?? id,
            Tty = spec.Tty,
            TtyRows = spec.Tty ? ttyRows : (ushort)0,
            TtyColumns = spec.Tty ? ttyColumns : (ushort)0,
            Interactive = spec.Interactive,
            ReadOnlyRootfs = spec.ReadOnlyRootfs,
            Mounts = spec.Volumes.Select(v => new BindMount { Source = v.HostPath, Target = v.GuestPath, ReadOnly = v.ReadOnly }).ToArray(),
            SetupLoopback = spec.Network != NetworkMode.Host,
            // One table for both backends (docs/process-model.md, "Resource limits").
            // A bundle's process.rlimits are exactly what it asks for (runc leaves the rest as inherited).
            Rlimits = [.. (spec.Bundle is null ? Ulimit.Effective(spec.Ulimits) : spec.Ulimits).Select(u => new Rlimit { Resource = u.Resource, Soft = RlimitValue(u.Soft), Hard = RlimitValue(u.Hard) })],
            Bundle = spec.Bundle,
        };
        return (process, init);
    }

    private static ulong RlimitValue(long v) => v < 0 ? ulong.MaxValue : (ulong)v;

    /// <summary>An exec as init runs it: the sandbox's process merged with the exec's options (docker's exec rules).</summary>
    public static ExecRequest Exec(ProcessSpec sandbox, ExecSpec exec, ushort ttyRows, ushort ttyColumns)
    {
        var p = sandbox.ForExec(exec);
        return new ExecRequest([.. p.Argv], [.. p.Env], p.WorkingDir, p.User, exec.Tty, exec.Interactive,
            exec.Tty ? ttyRows : (ushort)0, exec.Tty ? ttyColumns : (ushort)0);
    }
}
