using Microsoft.Extensions.Logging;
using Sandbox.Container.Cgroups;
using Sandbox.Core;
using Sandbox.Interop.Libc;

namespace Sandbox.Container;

/// <summary>
/// Removes what a <c>sandbox</c> process killed with SIGKILL left behind: its processes (init notices the host's
/// end of the control socket and ends the sandbox itself; this is the second line), cgroups and run directory.
/// Runs at the start of every container run and on <c>sandbox prune</c>.
/// </summary>
public sealed partial class StaleSandboxReaper(SandboxPaths paths, ILogger<StaleSandboxReaper> logger)
{
    /// <summary>Reaps crashed sandboxes; with <paramref name="includeExited"/> also the kept layers of exited ones.</summary>
    public async Task<int> ReapAsync(bool includeExited, CancellationToken cancellationToken = default)
    {
        int reaped = 0;
        var run = paths.Run;
        var seen = new HashSet<string>();
        if (Directory.Exists(run))
        {
            foreach (var dir in Directory.EnumerateDirectories(run))
            {
                var id = Path.GetFileName(dir);
                seen.Add(id);
                var lockPath = Path.Combine(dir, SandboxState.LockName);
                if (!File.Exists(lockPath))
                {
                    // Not ours or mid-creation: leave it unless it is clearly abandoned.
                    if (DateTime.UtcNow - Directory.GetCreationTimeUtc(dir) < TimeSpan.FromMinutes(1)) continue;
                    SandboxState.DeleteTree(dir);
                    reaped++;
                    continue;
                }
                SafeFd fd;
                try { fd = Files.Open(lockPath, Files.O_RDWR); }
                catch (ErrnoException) { continue; }
                using (fd)
                {
                    if (!Files.Flock(fd, Files.LOCK_EX | Files.LOCK_NB)) continue; // its owner is alive
                    bool exited = File.Exists(Path.Combine(dir, SandboxState.ExitedName));
                    if (exited && !includeExited) continue;
                    if (!exited) LogReaping(logger, id);
                    await Cgroup.For(id).DestroyAsync(cancellationToken).ConfigureAwait(false);
                    SandboxState.DeleteTree(dir);
                    reaped++;
                }
            }
        }
        // Groups without a run directory: a crash before the directory existed, or after it was removed.
        foreach (var id in Cgroup.ExistingIds())
        {
            if (seen.Contains(id) || Directory.Exists(Path.Combine(run, id))) continue;
            if (File.Exists(Path.Combine(run, $".{id}.lock"))) continue;
            if (Cgroup.For(id).RemoveIfAbandoned(TimeSpan.FromMinutes(1))) reaped++;
        }
        return reaped;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "reaping sandbox {Id}: its sandbox process died without cleaning up")]
    private static partial void LogReaping(ILogger logger, string id);
}
