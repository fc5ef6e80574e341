using System.Text;
using Sandbox.Core;
using Sandbox.Interop.Libc;

namespace Sandbox.Lifecycle;

/// <summary>
/// Starts a detached owner: the same <c>sandbox</c> binary in its hidden <c>__owner ID</c> mode, spawned with
/// posix_spawn (no managed code runs between fork and exec) into a new session, so it survives the CLI's exit, a
/// SIGKILL of the CLI and the terminal's hang-up. Its fd 3 is a pipe on which it reports "ok" once the sandbox runs,
/// or why it could not start it; its stdout/stderr go to <c>owner.log</c> in the sandbox's directory.
/// </summary>
public sealed class OwnerLauncher(string executable, IReadOnlyList<string> globalArgs)
{
    public const string Command = "__owner";

    /// <summary>
    /// GC settings for an owner that idles for hours next to dozens of others (docs/process-model.md, "Owner memory"):
    /// workstation non-concurrent GC (no background GC thread), a small gen0 budget; the caller's own DOTNET_* win.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> OwnerEnvironment = new Dictionary<string, string>
    {
        ["DOTNET_gcServer"] = "0",
        ["DOTNET_gcConcurrent"] = "0",
        ["DOTNET_GCgen0size"] = "0x100000",
        ["DOTNET_GCConserveMemory"] = "9",
    };

    /// <summary>How long a failed owner gets to finish its own cleanup and exit before the caller goes on.</summary>
    private static readonly TimeSpan ReapTimeout = TimeSpan.FromSeconds(30);

    /// <summary><c>SANDBOX_CLI</c>, else this process's own executable (the NativeAOT <c>sandbox</c>).</summary>
    public static string DefaultExecutable() =>
        Environment.GetEnvironmentVariable("SANDBOX_CLI") is { Length: > 0 } cli ? cli
        : Environment.ProcessPath ?? throw new SandboxException(SandboxFailure.Host, "cannot tell this process's executable path");

    /// <summary>Spawns the owner of <paramref name="record"/> and waits for its report. Returns the owner's pid.</summary>
    public async Task<int> StartAsync(SandboxStore store, SandboxRecord record, CancellationToken cancellationToken)
    {
        int pid;
        string? error;
        SandboxFailure failure;
        using (var devNull = Files.Open("/dev/null", Files.O_RDONLY))
        using (var log = Files.Open(store.PathOf(record.Id, SandboxStore.OwnerLogName), Files.O_WRONLY | Files.O_CREAT | 0x400 /* O_APPEND */, 0x180))
        {
            (pid, error, failure) = await SpawnDetachedAsync(executable, [executable, .. globalArgs, Command, record.Id],
                devNull, log, $"the owner process of sandbox {record.Id}", cancellationToken).ConfigureAwait(false);
        }
        if (error is null) return pid;
        if (error.Length == 0)
        {
            var tail = "";
            try { tail = string.Join(" | ", File.ReadLines(store.PathOf(record.Id, SandboxStore.OwnerLogName)).TakeLast(2)); } catch (IOException) { }
            error = $"the owner process of sandbox {record.Id} died while starting it{(tail.Length > 0 ? ": " + tail : "")}";
        }
        throw new SandboxException(failure, error);
    }

    /// <summary>
    /// Spawns <paramref name="argv"/> with posix_spawn into a new session, with the owners' GC settings, fd 0 from
    /// <paramref name="stdin"/>, fds 1 and 2 to <paramref name="output"/> and a report pipe as fd 3, and waits for its
    /// report (<see cref="FormatReport"/>). Error is null once it reported "ok", empty when it died without a word.
    /// </summary>
    internal static async Task<(int Pid, string? Error, SandboxFailure Failure)> SpawnDetachedAsync(string executable,
        IReadOnlyList<string> argv, SafeFd stdin, SafeFd output, string what, CancellationToken cancellationToken)
    {
        var (readEnd, writeEnd) = Files.Pipe();
        int pid;
        using (readEnd)
        {
            using (writeEnd)
            {
                var env = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
                    env[(string)e.Key] = (string?)e.Value ?? "";
                foreach (var (k, v) in OwnerEnvironment) env.TryAdd(k, v);
                try
                {
                    pid = Spawn.StartInNewSession(executable, argv, env.Select(kv => kv.Key + "=" + kv.Value).ToArray(),
                        [stdin, output, output, writeEnd]);
                }
                catch (ErrnoException e)
                {
                    throw new SandboxException(SandboxFailure.Host, $"cannot start {what} ({executable}): {e.Message}", e);
                }
            }
            // Our copy of the write end is closed: end of file means the child reported or died.
            var report = await Task.Run(() => ReadAll(readEnd), cancellationToken).ConfigureAwait(false);
            if (report.StartsWith("ok", StringComparison.Ordinal)) return (pid, null, SandboxFailure.Host);
            var (failure, message) = ParseFailure(report);
            // It failed or died: reap it before the caller looks at what it held. End of file on the report pipe comes
            // while the dying process is still closing its other fds (its owner lock among them), and an unreaped
            // owner is a zombie with its start time in /proc.
            try { await Task.Run(() => Processes.Wait(pid), CancellationToken.None).WaitAsync(ReapTimeout, cancellationToken).ConfigureAwait(false); }
            catch (Exception e) when (e is TimeoutException or ErrnoException) { }
            return (pid, message, failure);
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

    /// <summary>The owner's side: what it writes to fd 3.</summary>
    public static string FormatReport(SandboxException? failure) =>
        failure is null ? "ok\n" : $"error {failure.Reason} {failure.Message.ReplaceLineEndings(" ")}\n";

    private static (SandboxFailure, string) ParseFailure(string report)
    {
        var parts = report.TrimEnd('\n').Split(' ', 3);
        if (parts.Length == 3 && parts[0] == "error" && Enum.TryParse<SandboxFailure>(parts[1], out var f)) return (f, parts[2]);
        return (SandboxFailure.Host, "");
    }
}
