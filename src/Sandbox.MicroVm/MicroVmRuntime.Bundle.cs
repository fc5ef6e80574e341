using Sandbox.Core;
using Sandbox.Protocol;

namespace Sandbox.MicroVm;

public sealed partial class MicroVmRuntime
{
    /// <summary>The 9p tag of an OCI bundle's rootfs; the guest mounts it as the workload's root.</summary>
    internal const string RootShareTag = "sandbox-root";

    /// <summary>Where the guest mounts the shares of a bundle's bind sources (outside the workload's root).</summary>
    internal const string GuestSharesDir = "/sandbox/shares";

    /// <summary>
    /// How an OCI bundle reaches a guest (docs/oci-runtime.md, "Micro-VM mode"): its rootfs directory shared over
    /// virtio-9p as the guest's root, and each host bind mount's source as one more
    /// share, the bind's source rewritten to where the guest mounts it. 9p shares directories only: a file's parent
    /// directory is shared and the file bound from there. A source that is neither (a device node) is the guest's own
    /// node of the same path, as a guest has its own devices.
    /// </summary>
    internal sealed record BundlePlan(IReadOnlyList<GuestShare> Shares, GuestShareMount[] Mounts, BundleSpec Bundle);

    internal static BundlePlan PlanBundle(BundleSpec bundle)
    {
        // The root is shared writable even with root.readonly: as runc does, the mount points of the config's mounts
        // are made in it first, and init makes it read-only after the mounts (Workload's ReadOnlyRootfs step).
        var shares = new List<GuestShare> { new(RootShareTag, bundle.RootfsPath, ReadOnly: false) };
        var mounts = new List<GuestShareMount> { new() { Tag = RootShareTag, IsRoot = true } };
        var byDir = new Dictionary<(string Dir, bool ReadOnly), string>();
        string GuestDirOf(string hostDir, bool readOnly)
        {
            if (byDir.TryGetValue((hostDir, readOnly), out var guestDir)) return guestDir;
            var tag = $"sandbox-b{byDir.Count}";
            guestDir = $"{GuestSharesDir}/{tag}";
            shares.Add(new GuestShare(tag, hostDir, readOnly));
            mounts.Add(new GuestShareMount { Tag = tag, Target = guestDir, ReadOnly = readOnly });
            byDir[(hostDir, readOnly)] = guestDir;
            return guestDir;
        }

        var rewritten = new List<BundleMount>(bundle.Mounts.Count);
        foreach (var m in bundle.Mounts)
        {
            if (m.Type != "bind")
            {
                rewritten.Add(m);
                continue;
            }
            bool readOnly = m.Options.LastOrDefault(o => o is "ro" or "rw") == "ro";
            if (Directory.Exists(m.Source))
                rewritten.Add(m with { Source = GuestDirOf(Path.GetFullPath(m.Source), readOnly) });
            else if (m.Source.StartsWith("/dev/", StringComparison.Ordinal))
                rewritten.Add(m); // a device node (linux.devices, --device): the guest's own node of that path
            else if (File.Exists(m.Source))
                rewritten.Add(m with { Source = GuestDirOf(Path.GetDirectoryName(Path.GetFullPath(m.Source))!, readOnly) + "/" + Path.GetFileName(m.Source) });
            else
                throw new SandboxException(SandboxFailure.InvalidSpec, $"bind mount source {m.Source} does not exist");
        }
        return new BundlePlan(shares, [.. mounts], bundle with { Mounts = rewritten });
    }
}
