using Microsoft.Extensions.Logging;
using Sandbox.Core;
using Sandbox.Lifecycle;

namespace Sandbox.Cli;

/// <summary>
/// The lifecycle as the CLI's commands use it: the store under <c>--root</c>, the reaper, the owner launcher. Every
/// lifecycle command first reaps what dead owners left (the same moment for both backends), so <c>ps</c> tells the truth.
/// </summary>
public sealed class LifecycleContext
{
    private LifecycleContext(GlobalOptions global, IImageProvider? images = null)
    {
        Global = global;
        Store = new SandboxStore(global.Paths);
        var log = global.LoggerFactory.CreateLogger("Sandbox.Lifecycle");
        Reaper = new SandboxReaper(Store, global.LibvirtUri, log);
        Images = images ?? RunCommand.CreateImageProvider(global);
        Lifecycle = new SandboxLifecycle(Store, Reaper, Images);
    }

    /// <summary>The image provider the lifecycle and the runtimes this context makes share.</summary>
    public IImageProvider Images { get; }

    public GlobalOptions Global { get; }
    public SandboxStore Store { get; }
    public SandboxReaper Reaper { get; }
    public SandboxLifecycle Lifecycle { get; }

    public static async Task<LifecycleContext> OpenAsync(GlobalOptions global, CancellationToken ct)
    {
        var context = new LifecycleContext(global);
        await context.Reaper.ReapAsync(prune: false, ct).ConfigureAwait(false);
        return context;
    }

    /// <summary>
    /// For <c>run -d</c>: no reap yet (<see cref="SandboxReaper.ReapAsync"/> is the caller's, alongside its start),
    /// and <paramref name="images"/> shared by create and start so that the image is resolved once.
    /// </summary>
    public static LifecycleContext OpenUnreaped(GlobalOptions global, IImageProvider images) => new(global, images);

    /// <summary>
    /// Starts <paramref name="record"/> detached: a container is started here and handed to its sandbox-init, which
    /// holds it (no process of ours stays); a VM, an OCI bundle or a bridge-networked container gets a detached owner,
    /// this same binary in its hidden owner mode (docs/process-model.md, "Who holds a running sandbox").
    /// </summary>
    public async Task StartDetachedAsync(SandboxRecord record, CancellationToken ct)
    {
        if (SandboxLifecycle.InitCanHold(record))
        {
            await using var runtime = await RunCommand.CreateRuntimeAsync(Global, record.Isolation, ct, Images).ConfigureAwait(false);
            await Lifecycle.StartHeldByInitAsync(record, runtime.Runtime, Global.LoggerFactory.CreateLogger("Sandbox.Owner"), ct).ConfigureAwait(false);
            return;
        }
        await Lifecycle.StartDetachedAsync(record, new OwnerLauncher(OwnerLauncher.DefaultExecutable(), OwnerArgs()), ct).ConfigureAwait(false);
    }

    private List<string> OwnerArgs()
    {
        var args = new List<string> { "--root", Global.Paths.Root, "--libvirt-uri", Global.LibvirtUri };
        if (Global.Debug) args.Add("--debug");
        return args;
    }

    /// <summary>Resolves each of <paramref name="ids"/>; every one must exist before anything is done (docker stops at the first unknown).</summary>
    public SandboxRecord Resolve(string idOrName) => Store.Resolve(idOrName);
}
