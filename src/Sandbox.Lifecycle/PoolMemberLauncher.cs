using System.Globalization;
using System.Text;
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

    /// <summary>Spawns the holder and waits for its report; returns the holder's pid.</summary>
    public async Task<int> StartAsync(string id, string image, string digest, long? memoryBytes, double? cpus, bool paused, CancellationToken cancellationToken)
    {
        var (readEnd, writeEnd) = Files.Pipe();
        int pid;
        using (readEnd)
        {
            using (writeEnd)
            using (var devNull = Files.Open("/dev/null", Files.O_RDWR))
            {
                var env = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
                    env[(string)e.Key] = (string?)e.Value ?? "";
                foreach (var (k, v) in OwnerLauncher.OwnerEnvironment) env.TryAdd(k, v);
                var argv = new List<string> { executable };
                argv.AddRange(globalArgs);
                argv.AddRange([Command, id, image, "--digest", digest]);
                if (memoryBytes is long m) argv.AddRange(["--memory", m.ToString(CultureInfo.InvariantCulture)]);
                if (cpus is double c) argv.AddRange(["--cpus", c.ToString(CultureInfo.InvariantCulture)]);
                if (!paused) argv.Add("--running");
                try
                {
                    pid = Spawn.StartInNewSession(executable, argv, env.Select(kv => kv.Key + "=" + kv.Value).ToArray(),
                        [devNull, devNull, devNull, writeEnd]);
                }
                catch (ErrnoException e)
                {
                    throw new SandboxException(SandboxFailure.Host, $"cannot start the holder of pool member {id} ({executable}): {e.Message}", e);
                }
            }
            var report = await Task.Run(() => ReadAll(readEnd), cancellationToken).ConfigureAwait(false);
            if (report.StartsWith("ok", StringComparison.Ordinal)) return pid;
            var parts = report.TrimEnd('\n').Split(' ', 3);
            if (parts.Length == 3 && parts[0] == "error" && Enum.TryParse<SandboxFailure>(parts[1], out var failure))
                throw new SandboxException(failure, parts[2]);
            throw new SandboxException(SandboxFailure.Host, $"the holder of pool member {id} died while booting it");
        }
    }

    private static string ReadAll(SafeFd fd)
    {
        var buffer = new byte[8192];
        var text = new StringBuilder();
        int n;
        try
        {
            while ((n = Files.Read(fd, buffer)) > 0) text.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }
        catch (ErrnoException) { }
        return text.ToString();
    }
}
