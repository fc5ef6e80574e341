using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Sandbox.Core;

namespace Sandbox.Container.Tests;

/// <summary>A container runtime over a temp state root and the busybox test image.</summary>
public sealed class ContainerFixture : IDisposable
{
    public ContainerFixture()
    {
        Root = Path.Combine(Path.GetTempPath(), $"sandbox-test-root-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Root);
        File.SetUnixFileMode(Root, (UnixFileMode)0x1ed); // 0755: a user-namespaced root must traverse it
        Paths = new SandboxPaths(Root);
        Runtime = new ContainerRuntime(Paths, Image, NullLoggerFactory.Instance, InitPath);
    }

    public string Root { get; }
    public SandboxPaths Paths { get; }
    public BusyboxImage Image { get; } = new();
    public ContainerRuntime Runtime { get; }

    public static string InitPath
    {
        get
        {
            if (Environment.GetEnvironmentVariable("SANDBOX_INIT") is { Length: > 0 } p) return p;
            var dir = AppContext.BaseDirectory;
            while (dir is not null && !File.Exists(Path.Combine(dir, "Sandbox.sln"))) dir = Path.GetDirectoryName(dir);
            var path = Path.Combine(dir ?? "/", "out/bin/sandbox-init");
            if (!File.Exists(path))
                throw new InvalidOperationException($"sandbox-init not built ({path}): run scripts/build.sh or set SANDBOX_INIT");
            return path;
        }
    }

    public static SandboxSpec Spec(params string[] args) => new() { Image = "busybox", Args = args, Remove = true };

    /// <summary>Runs to completion with stdio captured through the channel (Streams mode).</summary>
    public async Task<Result> RunAsync(SandboxSpec spec, string? stdin = null, CancellationToken ct = default)
    {
        var stdout = new MemoryStream();
        var stderr = new MemoryStream();
        var input = stdin is null ? null : new MemoryStream(Encoding.UTF8.GetBytes(stdin));
        await using var sandbox = await Runtime.StartAsync(spec, SandboxStdio.Streams(input, stdout, stderr), ct);
        var status = await sandbox.WaitAsync(ct).WaitAsync(TimeSpan.FromSeconds(60), ct);
        await sandbox.DisposeAsync();
        return new Result(status, Encoding.UTF8.GetString(stdout.ToArray()), Encoding.UTF8.GetString(stderr.ToArray()), sandbox);
    }

    public Task<Result> RunAsync(params string[] args) => RunAsync(Spec(args));

    public sealed record Result(ExitStatus Status, string Stdout, string Stderr, ISandbox Sandbox);

    public void Dispose()
    {
        try { Directory.Delete(Root, true); } catch (IOException) { }
    }
}
