using System.Globalization;
using Sandbox.Core;
using Sandbox.Interop.Libc;

namespace Sandbox.Lifecycle;

/// <summary>
/// Starts the holder of one warm pool member (docs/microvm.md, "Warm pool"): like a detached owner
/// (<see cref="OwnerLauncher"/>), the same <c>sandbox</c> binary in a hidden mode (<c>__pool-member</c>), spawned into
/// a new session with the owner's GC settings, reporting on fd 3 once its guest is ready or why it is not. The holder
/// owns its <c>run/&lt;id&gt;</c> directory (flock), so the reaper treats a dead holder's member like any crashed sandbox.
/// </summary>
public sealed class PoolMemberLauncher(string executable, IReadOnlyList<string> globalArgs)
{
    public const string Command = "__pool-member";

    /// <summary>The hidden mode of a background refill (<c>pool fill --refill</c>, <see cref="PoolRefiller"/>).</summary>
    public const string RefillCommand = "__pool-refill";

    /// <summary>Spawns the holder and waits for its report; returns the holder's pid.</summary>
    public async Task<int> StartAsync(string id, string image, string digest, long? memoryBytes, double? cpus, bool paused, CancellationToken cancellationToken)
    {
        var argv = new List<string> { executable };
        argv.AddRange(globalArgs);
        argv.AddRange([Command, id, image, "--digest", digest]);
        if (memoryBytes is long m) argv.AddRange(["--memory", m.ToString(CultureInfo.InvariantCulture)]);
        if (cpus is double c) argv.AddRange(["--cpus", c.ToString(CultureInfo.InvariantCulture)]);
        if (!paused) argv.Add("--running");
        using var devNull = Files.Open("/dev/null", Files.O_RDWR);
        var (pid, error, failure) = await OwnerLauncher.SpawnDetachedAsync(executable, argv, devNull, devNull,
            $"the holder of pool member {id}", cancellationToken).ConfigureAwait(false);
        if (error is null) return pid;
        throw new SandboxException(failure, error.Length > 0 ? error : $"the holder of pool member {id} died while booting it");
    }

    /// <summary>Spawns a background refill that keeps <paramref name="count"/> members; returns once it listens.</summary>
    public async Task<int> StartRefillAsync(string id, string image, string digest, int count, long? memoryBytes, double? cpus, bool paused,
        CancellationToken cancellationToken)
    {
        var argv = new List<string> { executable };
        argv.AddRange(globalArgs);
        argv.AddRange([RefillCommand, id, image, "--digest", digest, "--count", count.ToString(CultureInfo.InvariantCulture)]);
        if (memoryBytes is long m) argv.AddRange(["--memory", m.ToString(CultureInfo.InvariantCulture)]);
        if (cpus is double c) argv.AddRange(["--cpus", c.ToString(CultureInfo.InvariantCulture)]);
        if (!paused) argv.Add("--running");
        using var devNull = Files.Open("/dev/null", Files.O_RDWR);
        var (pid, error, failure) = await OwnerLauncher.SpawnDetachedAsync(executable, argv, devNull, devNull,
            $"the pool refill {id}", cancellationToken).ConfigureAwait(false);
        if (error is null) return pid;
        throw new SandboxException(failure, error.Length > 0 ? error : $"the pool refill {id} died while starting");
    }
}
