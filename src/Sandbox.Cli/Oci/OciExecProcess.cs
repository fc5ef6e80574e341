using System.Text.Json;
using Sandbox.Core;

namespace Sandbox.Cli.Oci;

/// <summary>
/// <c>exec --process FILE</c>: a runtime-spec <c>process</c> object (what conmon and the containerd shim write) read
/// into an <see cref="ExecSpec"/>. The exec'd process runs with the container's security profile (capability sets,
/// no_new_privs, seccomp, rlimits); where the file asks for something else, that is a logged warning, never silent.
/// </summary>
internal static class OciExecProcess
{
    public static ExecSpec Load(string path, BundleSpec? container, Action<string> warn)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllBytes(path)); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { throw OciConfig.Invalid($"--process {path} does not exist"); }
        catch (JsonException e) { throw OciConfig.Invalid($"--process {path} is not valid JSON: {e.Message}"); }
        using (doc)
        {
            var p = new OciConfig.Reader(doc.RootElement, "process");
            var args = p.Strings("args");
            if (args.Count == 0) throw OciConfig.Invalid("process.json: process.args is empty");
            var cwd = p.String("cwd");
            if (cwd is not null && !cwd.StartsWith('/')) throw OciConfig.Invalid($"process.json: process.cwd '{cwd}' is not absolute");
            var user = p.Object("user");
            var size = p.Object("consoleSize");
            if (user?.Array("additionalGids") is { Count: > 0 } gids && container is not null
                && !gids.Select(e => e.GetUInt32()).SequenceEqual(container.AdditionalGids))
                warn("process.user.additionalGids of the exec'd process ignored: it gets the groups of its user in the container's /etc/group");
            if (p.Object("capabilities") is { } caps && container is not null)
            {
                ulong Mask(string set) => caps.Strings(set).Select(Capabilities.Bit).Where(b => b >= 0).Aggregate(0UL, (m, b) => m | 1UL << b);
                if (Mask("bounding") != container.CapBounding || Mask("effective") != container.CapEffective)
                    warn("process.capabilities of the exec'd process differ from the container's: it gets the container's sets");
            }
            if (p.Bool("noNewPrivileges") is bool nnp && container is not null && nnp != container.NoNewPrivileges)
                warn($"process.noNewPrivileges={nnp} of the exec'd process ignored: it gets the container's ({container.NoNewPrivileges})");
            if (p.Array("rlimits").Count > 0) warn("process.rlimits of the exec'd process ignored: it inherits the container's");
            if (p.String("apparmorProfile") is { Length: > 0 } aa) warn($"process.apparmorProfile {aa} ignored: this runtime does not apply AppArmor");
            if (p.String("selinuxLabel") is { Length: > 0 } se) warn($"process.selinuxLabel {se} ignored: this runtime does not apply SELinux labels");
            return new ExecSpec
            {
                Args = args.ToArray(),
                Env = p.Strings("env").ToArray(),
                WorkingDir = cwd,
                User = user is null ? null : $"{user.UInt("uid") ?? 0}:{user.UInt("gid") ?? 0}",
                Tty = p.Bool("terminal") ?? false,
                Interactive = true,
                TtyRows = (ushort)Math.Min(size?.UInt("height") ?? 0, ushort.MaxValue),
                TtyColumns = (ushort)Math.Min(size?.UInt("width") ?? 0, ushort.MaxValue),
            };
        }
    }
}
