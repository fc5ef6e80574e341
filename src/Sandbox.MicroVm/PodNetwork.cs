using System.Globalization;
using Microsoft.Extensions.Logging;
using Sandbox.Core;
using Sandbox.Interop.Libc;
using Sandbox.Protocol;

namespace Sandbox.MicroVm;

/// <summary>
/// A guest on a caller's network namespace (an OCI bundle joining a netns by path: podman's bridge network, a
/// Kubernetes pod's netns): Kata's "tcfilter" model (docs/network.md, "VMs on a caller's network namespace").
/// The guest's NIC is a tap that lives in that namespace beside its veth; ingress qdiscs with u32 + mirred redirect
/// filters pass every frame from the veth to the tap and back, and the guest takes the veth's MAC, IPv4 address,
/// default route and MTU, so the pod's address is the guest's.
/// <para>
/// libvirtd's qemu runs in the host's namespace and libvirt takes no tap fd for qemu domains, so the tap is made
/// persistent in the host's namespace first (<c>sbxp-&lt;id&gt;</c>, labelled with its owner), the domain opens it by
/// name (<c>type='ethernet'</c>, <c>managed='no'</c>), and then it is moved into the namespace: qemu's open fd keeps
/// working. In the namespace it dies with the namespace (a tap is a virtual device); between its creation and the move
/// it is in the host's, where <see cref="ReapStaleTaps"/> removes it once its owner is gone.
/// </para>
/// </summary>
internal sealed class PodNetwork : IDisposable
{
    public const string TapPrefix = "sbxp-";
    private const string AliasPrefix = "sandbox-owner ";

    private readonly SafeFd _netns;
    private readonly RouteNetlink _pod;
    private readonly ILogger _log;
    private int _tapIndex;
    private bool _moved;
    private bool _wired;

    private PodNetwork(string path, SafeFd netns, RouteNetlink pod, NetLink veth, GuestInterface guest, string tap, ILogger log)
    {
        NamespacePath = path;
        _netns = netns;
        _pod = pod;
        Veth = veth;
        Interface = guest;
        Tap = tap;
        _log = log;
    }

    public string NamespacePath { get; }

    /// <summary>The namespace's device the guest stands in for.</summary>
    public NetLink Veth { get; }

    public string Tap { get; }

    /// <summary>What init configures the guest's NIC with: the veth's MAC, address, gateway and MTU.</summary>
    public GuestInterface Interface { get; }

    /// <summary>The domain's <c>type='ethernet'</c> NIC on our tap, with the veth's MAC.</summary>
    public GuestNic Nic => new(null, Interface.Mac, Tap);

    public static string TapName(string sandboxId) => TapPrefix + sandboxId[..Math.Min(10, sandboxId.Length)];

    /// <summary>
    /// Reads the namespace's interface (by netlink, from a socket opened inside it) and makes the tap in the host's
    /// namespace. One line naming the problem when the namespace is not one a guest can stand in: no interface with an
    /// IPv4 address, several, or one another guest already mirrors.
    /// </summary>
    public static PodNetwork Prepare(string path, string sandboxId, DomainOwner owner, ILogger log)
    {
        SafeFd netns;
        try { netns = Files.Open(path, Files.O_RDONLY); }
        catch (ErrnoException e) { throw new SandboxException(SandboxFailure.InvalidSpec, $"network namespace {path}: {e.Message}", e); }
        RouteNetlink? pod = null;
        try
        {
            pod = OpenIn(netns, path);
            var links = pod.Links();
            var addresses = pod.Addresses();
            var routes = pod.Routes();
            var candidates = links.Where(l => (l.Flags & NetLink.IFF_LOOPBACK) == 0 && l.Mac is not null
                && addresses.Any(a => a.Index == l.Index)).ToList();
            var defaultRoute = routes.FirstOrDefault(r => r.PrefixLength == 0 && r.Gateway is not null);
            var veth = candidates.Count switch
            {
                1 => candidates[0],
                0 => throw new SandboxException(SandboxFailure.InvalidSpec,
                    $"network namespace {path} has no interface with an IPv4 address for the micro-VM to take over"),
                _ => candidates.FirstOrDefault(l => defaultRoute is not null && l.Index == defaultRoute.OutputIndex)
                    ?? throw new SandboxException(SandboxFailure.InvalidSpec,
                        $"network namespace {path} has {candidates.Count} interfaces ({string.Join(", ", candidates.Select(c => c.Name))}) and no default route to choose one: a micro-VM takes over one"),
            };
            foreach (var tap in links.Where(l => l.Name.StartsWith(TapPrefix, StringComparison.Ordinal)))
            {
                // A SIGKILLed owner's tap and redirect stay in the namespace (its domain is gone): a restart in the same
                // namespace takes the veth back. A live owner's means another guest has it.
                if (OwnerOf(tap.Alias) is { } other && !other.IsAlive())
                {
                    pod.Delete(tap.Index, tap.Name);
                    pod.DeleteIngressQdisc(veth.Index, veth.Name);
                    continue;
                }
                throw new SandboxException(SandboxFailure.InvalidSpec,
                    $"network namespace {path}: its interface {veth.Name} is already taken over by another micro-VM");
            }
            var address = addresses.First(a => a.Index == veth.Index);
            var gateway = routes.FirstOrDefault(r => r.PrefixLength == 0 && r.Gateway is not null && r.OutputIndex == veth.Index)?.Gateway;
            var guest = new GuestInterface
            {
                Mac = veth.Mac!,
                Address = address.Address.ToString(),
                PrefixLength = address.PrefixLength,
                Gateway = gateway?.ToString(),
                Mtu = veth.Mtu > 0 ? veth.Mtu : 1500,
            };
            var network = new PodNetwork(path, netns, pod, veth, guest, TapName(sandboxId), log);
            try { network.CreateTap(owner); }
            catch
            {
                network.Dispose();
                throw;
            }
            return network;
        }
        catch (ErrnoException e)
        {
            pod?.Dispose();
            netns.Dispose();
            throw new SandboxException(SandboxFailure.Host, $"network namespace {path}: {e.Message}", e);
        }
        catch
        {
            pod?.Dispose();
            netns.Dispose();
            throw;
        }
    }

    private void CreateTap(DomainOwner owner)
    {
        // A leftover of ours by that name would be attached to, not created: remove it first (its owner is gone, as
        // ids are unique per live sandbox).
        using var host = RouteNetlink.Open();
        if (host.Links().FirstOrDefault(l => l.Name == Tap) is { } stale) host.Delete(stale.Index, Tap);
        _tapIndex = Tun.CreatePersistentTap(Tap);
        host.SetAlias(_tapIndex, Alias(owner), Tap);
        if (Interface.Mtu != 1500) host.SetMtu(_tapIndex, Interface.Mtu, Tap);
    }

    /// <summary>
    /// Once the domain holds the tap (after virDomainCreateXML): moves it into the namespace, brings it up and adds the
    /// redirects both ways. Until then the guest's NIC is cut off; init configures it only at Start, after this.
    /// </summary>
    public void Wire()
    {
        try
        {
            using (var host = RouteNetlink.Open())
                host.MoveToNamespace(_tapIndex, _netns, Tap);
            _moved = true;
            // The index may change in the new namespace (it keeps its own if free there).
            _tapIndex = _pod.Links().FirstOrDefault(l => l.Name == Tap)?.Index
                ?? throw new SandboxException(SandboxFailure.Host, $"the tap {Tap} did not arrive in {NamespacePath}");
            _pod.SetUp(_tapIndex, Tap);
            _pod.AddIngressQdisc(Veth.Index, Veth.Name);
            _wired = true;
            _pod.AddIngressQdisc(_tapIndex, Tap);
            _pod.AddRedirect(Veth.Index, _tapIndex, $"{Veth.Name} to {Tap}");
            _pod.AddRedirect(_tapIndex, Veth.Index, $"{Tap} to {Veth.Name}");
        }
        catch (ErrnoException e)
        {
            throw new SandboxException(SandboxFailure.Host, $"cannot connect the micro-VM to {Veth.Name} in {NamespacePath}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Removes the tap and the veth's redirect (the namespace's veth works as before); nothing when the namespace is
    /// gone already (its devices went with it).
    /// </summary>
    public void Dispose()
    {
        try
        {
            if (_wired) _pod.DeleteIngressQdisc(Veth.Index, Veth.Name);
            if (_moved)
            {
                if (_pod.Links().FirstOrDefault(l => l.Name == Tap) is { } tap) _pod.Delete(tap.Index, Tap);
            }
            else if (_tapIndex != 0)
            {
                using var host = RouteNetlink.Open();
                if (host.Links().FirstOrDefault(l => l.Name == Tap) is { } tap) host.Delete(tap.Index, Tap);
            }
        }
        catch (ErrnoException e) { MicroVmLog.CleanupFailed(_log, Tap, e.Message); }
        finally
        {
            _pod.Dispose();
            _netns.Dispose();
        }
    }

    /// <summary>The owner a tap's label names (null when it is not one of our labels).</summary>
    private static DomainOwner? OwnerOf(string? alias)
    {
        if (alias is null || !alias.StartsWith(AliasPrefix, StringComparison.Ordinal)) return null;
        var parts = alias[AliasPrefix.Length..].Split(' ');
        return parts.Length == 3 && int.TryParse(parts[0], CultureInfo.InvariantCulture, out int pid)
            && long.TryParse(parts[1], CultureInfo.InvariantCulture, out long start)
            ? new DomainOwner(pid, start, parts[2]) : null;
    }

    private static string Alias(DomainOwner owner) =>
        string.Create(CultureInfo.InvariantCulture, $"{AliasPrefix}{owner.Pid} {owner.StartTime} {owner.BootId}");

    /// <summary>
    /// Taps of ours left in the host's namespace by an owner that died between making one and moving it into its
    /// namespace (the only window in which one can outlive its VM): deleted when the owner in its label is gone.
    /// </summary>
    public static int ReapStaleTaps(ILogger log)
    {
        int removed = 0;
        try
        {
            using var host = RouteNetlink.Open();
            foreach (var link in host.Links())
            {
                if (!link.Name.StartsWith(TapPrefix, StringComparison.Ordinal)) continue;
                var alias = link.Alias;
                if (OwnerOf(alias) is not { } owner || owner.IsAlive()) continue;
                if (host.Delete(link.Index, link.Name)) removed++;
            }
        }
        catch (ErrnoException e) { MicroVmLog.CleanupFailed(log, "stale taps", e.Message); }
        return removed;
    }

    /// <summary>A netlink socket made inside the namespace (on a short-lived thread: setns is per thread); it stays there.</summary>
    private static RouteNetlink OpenIn(SafeFd netns, string path)
    {
        RouteNetlink? socket = null;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var original = Files.Open("/proc/thread-self/ns/net", Files.O_RDONLY);
                Namespaces.Enter(netns, Namespaces.CLONE_NEWNET, path);
                try { socket = RouteNetlink.Open(); }
                finally { Namespaces.Enter(original, Namespaces.CLONE_NEWNET, "the host's network namespace"); }
            }
            catch (Exception e) { failure = e; }
        }, 256 * 1024) { IsBackground = true, Name = "netns" };
        thread.Start();
        thread.Join();
        if (failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        return socket!;
    }
}
