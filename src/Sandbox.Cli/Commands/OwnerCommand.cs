using Microsoft.Extensions.Logging;
using Sandbox.Core;
using Sandbox.Interop.Libc;
using Sandbox.Lifecycle;

namespace Sandbox.Cli;

/// <summary>
/// <c>sandbox __owner ID</c> (hidden): the detached owner of one sandbox (docs/process-model.md, "Who holds a running
/// sandbox"). Started by <see cref="OwnerLauncher"/> in a new session with fd 3 as its report pipe.
/// </summary>
public static class OwnerCommand
{
    public static async Task<int> ExecuteAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        if (args.Length != 1) throw new UsageException("usage: sandbox __owner ID");
        // Whatever our children leave (init's orphans never reach us, but a helper's might) is ours to reap, not PID 1's.
        try { Processes.Prctl(Processes.PR_SET_CHILD_SUBREAPER, 1); } catch (ErrnoException) { }
        var store = new SandboxStore(global.Paths);
        var record = store.Load(args[0]) ?? throw new SandboxException(SandboxFailure.InvalidSpec, $"no such sandbox: {args[0]}");
        await using var runtime = await RunCommand.CreateRuntimeAsync(global, record.Isolation, ct).ConfigureAwait(false);
        return await SandboxLifecycle.RunOwnerAsync(store, record.Id, runtime.Runtime, new SafeFd(3, true),
            global.LoggerFactory.CreateLogger("Sandbox.Owner")).ConfigureAwait(false);
    }
}
