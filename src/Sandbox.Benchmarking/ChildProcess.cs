using System.Diagnostics;
using Sandbox.Core;
using Sandbox.Interop.Libc;

namespace Sandbox.Benchmarking;

/// <summary>
/// A measured child process: start time on the host monotonic clock, the moment a marker line appeared on its
/// output, and its exit. Used for every subject so all are timed the same way, from outside.
/// </summary>
public sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly TaskCompletionSource<long> _marker = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string? _markerText;
    private readonly System.Text.StringBuilder _stderr = new();
    private readonly Task _pumps;

    private ChildProcess(Process process, string? markerText, long started)
    {
        _process = process;
        _markerText = markerText;
        StartedNs = started;
        _pumps = Task.WhenAll(PumpAsync(process.StandardOutput, false), PumpAsync(process.StandardError, true));
    }

    public long StartedNs { get; }
    public int Pid => _process.Id;
    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }
    public Task<long> Marker => _marker.Task;

    public static ChildProcess Start(string file, IEnumerable<string> args, string? markerText = null, IDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        long t0 = SandboxTimings.Now();
        var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        p.StandardInput.Close();
        return new ChildProcess(p, markerText, t0);
    }

    private async Task PumpAsync(StreamReader reader, bool isStderr)
    {
        while (await reader.ReadLineAsync().ConfigureAwait(false) is string line)
        {
            if (_markerText is not null && line.Contains(_markerText, StringComparison.Ordinal))
                _marker.TrySetResult(SandboxTimings.Now());
            if (isStderr) lock (_stderr) _stderr.AppendLine(line);
        }
    }

    /// <summary>Waits for exit; returns (exit code, host monotonic ns at exit).</summary>
    public async Task<(int Code, long ExitedNs)> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try { await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false); }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(_process.StartInfo.FileName)} did not finish within {timeout.TotalSeconds:0} s");
        }
        long exited = SandboxTimings.Now();
        await _pumps.ConfigureAwait(false);
        _marker.TrySetResult(0);
        return (_process.ExitCode, exited);
    }

    /// <summary>Waits for the marker line; fails if the process exits first.</summary>
    public async Task WaitForMarkerAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var exited = _process.WaitForExitAsync(cancellationToken);
        var done = await Task.WhenAny(Marker, exited, Task.Delay(timeout, cancellationToken)).ConfigureAwait(false);
        if (done == Marker && Marker.Result != 0) return;
        throw new InvalidOperationException(done == exited || Marker.IsCompleted
            ? $"exited with {(_process.HasExited ? _process.ExitCode : -1)} before it was ready: {LastLine(Stderr)}"
            : $"not ready within {timeout.TotalSeconds:0} s");
    }

    private static string LastLine(string s) => s.TrimEnd().Split('\n').LastOrDefault() ?? "";

    /// <summary>Sends <paramref name="signal"/> to the process; nothing when it has already gone.</summary>
    public void Signal(int signal) => _ = Processes.Kill(_process.Id, signal);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Signal(15);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try { await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { _process.Kill(entireProcessTree: true); await _process.WaitForExitAsync().ConfigureAwait(false); }
        }
        try { await _pumps.ConfigureAwait(false); } catch (IOException) { }
        _process.Dispose();
    }
}
