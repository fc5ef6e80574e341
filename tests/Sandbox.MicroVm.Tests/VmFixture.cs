using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sandbox.Core;
using Sandbox.Interop.Libvirt;
using Xunit;

namespace Sandbox.MicroVm.Tests;

/// <summary>One temp store (the real image store, its built-in busybox image and its EROFS disk) and one runtime (one KVM probe) for all VM tests.</summary>
public sealed class VmFixture : IAsyncLifetime
{
    private Images.ImageStore? _store;

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "sandbox-vmtest-" + Guid.NewGuid().ToString("N")[..8]);
    public SandboxPaths Paths => new(Root);
    public MicroVmRuntime Runtime { get; private set; } = null!;
    public IImageProvider ImageProvider => _store!;
    public ILoggerFactory LoggerFactory { get; } = NullLoggerFactory.Instance;

    public Task InitializeAsync()
    {
        TestEnvironment.RequireGuest();
        Directory.CreateDirectory(Root);
        TrackRoot(Root);
        _store = new Images.ImageStore(Paths, LoggerFactory);
        Runtime = NewRuntime(TestEnvironment.LibvirtUri);
        return Task.CompletedTask;
    }

    public MicroVmRuntime NewRuntime(string uri) =>
        new(Paths, _store!, LoggerFactory, uri, TestEnvironment.KernelPath, TestEnvironment.InitramfsPath);

    public async Task<RunResult> RunAsync(SandboxSpec spec, string? stdin = null, MicroVmRuntime? runtime = null)
    {
        var stdout = new MemoryStream();
        var stderr = new MemoryStream();
        var input = stdin is null ? null : new MemoryStream(System.Text.Encoding.UTF8.GetBytes(stdin));
        spec = spec with { Isolation = Isolation.Vm, Interactive = spec.Interactive || stdin is not null };
        var sandbox = await (runtime ?? Runtime).StartAsync(spec, SandboxStdio.Streams(input, stdout, stderr));
        ExitStatus status;
        try { status = await sandbox.WaitAsync().WaitAsync(TimeSpan.FromMinutes(2)); }
        finally { await sandbox.DisposeAsync(); }
        return new RunResult(status, System.Text.Encoding.UTF8.GetString(stdout.ToArray()),
            System.Text.Encoding.UTF8.GetString(stderr.ToArray()), sandbox);
    }

    public static SandboxSpec Busybox(params string[] args) => new() { Image = "busybox", Args = args, Isolation = Isolation.Vm };

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> Roots = new(StringComparer.Ordinal);

    /// <summary>Counts <paramref name="root"/> as one of this assembly's stores for <see cref="SandboxDomains"/>.</summary>
    public static void TrackRoot(string root) => Roots[new SandboxPaths(root).Root] = true;

    /// <summary>The sandbox directories under <see cref="Root"/>'s run/ (not the hidden ones of a create in progress).</summary>
    public List<string> RunDirectories()
    {
        var run = Path.Combine(Root, "run");
        return Directory.Exists(run) ? Directory.EnumerateDirectories(run).Select(d => Path.GetFileName(d)!).Where(d => !d.StartsWith('.')).ToList() : [];
    }

    /// <summary>
    /// Names of the sandbox domains libvirt knows right now that belong to this assembly's stores (by the store root in
    /// each domain's owner metadata): other test assemblies boot VMs on the same libvirtd at the same time.
    /// </summary>
    public static List<string> SandboxDomains()
    {
        using var conn = LibvirtConnection.Open(TestEnvironment.LibvirtUri);
        var names = new List<string>();
        foreach (var d in conn.ListAllDomains())
        {
            using (d)
            {
                if (!d.Name.StartsWith("sandbox-", StringComparison.Ordinal)) continue;
                string? metadata;
                try { metadata = d.GetMetadata(DomainOwner.Namespace); }
                catch (LibvirtException) { continue; /* gone meanwhile */ }
                // A domain without a recorded root (an older build) counts as ours; one of another store does not.
                if (DomainOwner.Parse(metadata) is not { Root: string root } || Roots.ContainsKey(root)) names.Add(d.Name);
            }
        }
        return names;
    }

    public async Task DisposeAsync()
    {
        await Runtime.DisposeAsync();
        var left = SandboxDomains();
        Directory.Delete(Root, recursive: true);
        if (left.Count > 0) throw new InvalidOperationException("sandbox domains left after the micro-VM tests: " + string.Join(", ", left));
    }
}

public sealed record RunResult(ExitStatus Status, string Stdout, string Stderr, ISandbox Sandbox);

[CollectionDefinition(Name)]
public sealed class VmCollection : ICollectionFixture<VmFixture>
{
    public const string Name = "micro-VM";
}
