using System.Globalization;
using System.Text.Json;
using Sandbox.Core;
using Sandbox.Interop.Libc;

namespace Sandbox.Cli.Oci;

/// <summary>
/// Reads a bundle's <c>config.json</c> (runtime-spec 1.0.x-1.1) into the <see cref="SandboxSpec"/> both backends take,
/// with a <see cref="BundleSpec"/> for what docker's shape cannot say. Every field is either honoured, refused with
/// one line naming it, or (where runc also goes on) reported as a warning; nothing is dropped silently.
/// </summary>
public static class OciConfig
{
    public const string IsolationAnnotation = "sandbox.isolation";

    public sealed record Result(SandboxSpec Spec, IReadOnlyDictionary<string, string> Annotations, IReadOnlyList<string> Warnings)
    {
        /// <summary><c>process.consoleSize</c> (0: not given).</summary>
        public ushort ConsoleRows { get; init; }
        public ushort ConsoleColumns { get; init; }
    }

    public static Result Load(string bundle, string id, Isolation defaultIsolation, string? consoleSocket)
    {
        var path = Path.Combine(bundle, "config.json");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllBytes(path)); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw Invalid($"{path} does not exist (is --bundle right?)");
        }
        catch (JsonException e) { throw Invalid($"{path} is not valid JSON: {e.Message}"); }
        using (doc) return Convert(doc.RootElement, bundle, id, defaultIsolation, consoleSocket);
    }

    internal static SandboxException Invalid(string message) => new(SandboxFailure.InvalidSpec, message);

    public static Result Convert(JsonElement root, string bundle, string id, Isolation defaultIsolation, string? consoleSocket)
    {
        var warnings = new List<string>();
        var r = new Reader(root, "");
        var version = r.String("ociVersion") ?? throw Invalid("config.json: ociVersion is missing");
        if (!version.StartsWith("1.", StringComparison.Ordinal)) throw Invalid($"config.json: ociVersion {version} is not supported (1.0.x-1.1.x)");

        var rootObj = r.Object("root") ?? throw Invalid("config.json: root is missing");
        var rootPath = rootObj.String("path") ?? throw Invalid("config.json: root.path is missing");
        if (!Path.IsPathRooted(rootPath)) rootPath = Path.GetFullPath(Path.Combine(bundle, rootPath));
        if (!Directory.Exists(rootPath)) throw Invalid($"config.json: root.path {rootPath} does not exist");
        bool readOnly = rootObj.Bool("readonly") ?? false;

        var process = r.Object("process") ?? throw Invalid("config.json: process is missing");
        var args = process.Strings("args");
        if (args.Count == 0) throw Invalid("config.json: process.args is empty");
        var env = process.Strings("env");
        var cwd = process.String("cwd") ?? "/";
        if (!cwd.StartsWith('/')) throw Invalid($"config.json: process.cwd '{cwd}' is not absolute");
        var user = process.Object("user");
        uint uid = user?.UInt("uid") ?? 0, gid = user?.UInt("gid") ?? 0;
        var additionalGids = user?.Array("additionalGids").Select((e, i) => e.UIntAt($"process.user.additionalGids[{i}]")).ToArray() ?? [];
        uint? umask = user?.UInt("umask");
        bool terminal = process.Bool("terminal") ?? false;
        if (terminal && consoleSocket is null) warnings.Add("process.terminal without --console-socket: the pty is relayed to this runtime's own stdio");

        var caps = process.Object("capabilities");
        ulong Caps(string set)
        {
            ulong mask = 0;
            if (caps is null) return 0;
            foreach (var name in caps.Strings(set))
            {
                int bit = Capabilities.Bit(name);
                if (bit < 0) throw Invalid($"config.json: process.capabilities.{set}: unknown capability {name}");
                mask |= 1UL << bit;
            }
            return mask;
        }

        var ulimits = new List<Ulimit>();
        foreach (var (rl, i) in process.Array("rlimits").Select((e, i) => (e, i)))
        {
            var o = new Reader(rl, $"process.rlimits[{i}]");
            var type = o.String("type") ?? throw Invalid($"config.json: process.rlimits[{i}].type is missing");
            var name = type.StartsWith("RLIMIT_", StringComparison.Ordinal) ? type[7..].ToLowerInvariant() : "";
            if (!Ulimit.Resources.ContainsKey(name)) throw Invalid($"config.json: process.rlimits[{i}].type: unknown limit {type}");
            ulimits.Add(new Ulimit(name, Limit(o.ULong("soft") ?? 0), Limit(o.ULong("hard") ?? 0)));
        }
        if (process.String("apparmorProfile") is { Length: > 0 } aa) warnings.Add($"process.apparmorProfile {aa} ignored: this runtime does not apply AppArmor");
        if (process.String("selinuxLabel") is { Length: > 0 } se) warnings.Add($"process.selinuxLabel {se} ignored: this runtime does not apply SELinux labels");
        var consoleSize = process.Object("consoleSize");
        foreach (var field in new[] { "ioPriority", "scheduler", "execCPUAffinity" })
            if (process.Has(field)) warnings.Add($"process.{field} ignored: not supported by this runtime");

        // Namespaces: what is new, what is joined, what is refused.
        ulong newNs = 0;
        var joins = new List<NamespaceJoin>();
        bool newNet = false, newUts = false, newMount = false, newPid = false, newUser = false;
        var linux = r.Object("linux") ?? new Reader(default, "linux");
        foreach (var (n, i) in linux.Array("namespaces").Select((e, i) => (e, i)))
        {
            var o = new Reader(n, $"linux.namespaces[{i}]");
            var type = o.String("type") ?? throw Invalid($"config.json: linux.namespaces[{i}].type is missing");
            var nsPath = o.String("path");
            ulong flag = type switch
            {
                "pid" => SandboxNative.CLONE_NEWPID, "network" => SandboxNative.CLONE_NEWNET, "mount" => SandboxNative.CLONE_NEWNS,
                "ipc" => SandboxNative.CLONE_NEWIPC, "uts" => SandboxNative.CLONE_NEWUTS, "user" => SandboxNative.CLONE_NEWUSER,
                "cgroup" => SandboxNative.CLONE_NEWCGROUP,
                "time" => throw Invalid("config.json: linux.namespaces: a time namespace is not supported"),
                _ => throw Invalid($"config.json: linux.namespaces[{i}].type: unknown namespace type {type}"),
            };
            if (nsPath is { Length: > 0 })
            {
                if (type is not ("network" or "ipc" or "uts"))
                    throw Invalid($"config.json: linux.namespaces[{i}]: joining a {type} namespace by path ({nsPath}) is not supported (only network, ipc and uts)");
                if (!File.Exists(nsPath)) throw Invalid($"config.json: linux.namespaces[{i}].path {nsPath} does not exist");
                joins.Add(new NamespaceJoin(type, nsPath));
                continue;
            }
            newNs |= flag;
            newNet |= type == "network"; newUts |= type == "uts"; newMount |= type == "mount"; newPid |= type == "pid"; newUser |= type == "user";
        }
        if (!newMount) throw Invalid("config.json: linux.namespaces must create a mount namespace (this runtime builds the root in one)");
        if (!newPid) throw Invalid("config.json: linux.namespaces must create a pid namespace (sandbox-init is its PID 1)");
        var uidMaps = IdMaps(linux, "uidMappings");
        var gidMaps = IdMaps(linux, "gidMappings");
        if (newUser && (uidMaps.Count == 0 || gidMaps.Count == 0)) throw Invalid("config.json: a user namespace needs linux.uidMappings and linux.gidMappings");
        if (!newUser && (uidMaps.Count > 0 || gidMaps.Count > 0)) throw Invalid("config.json: linux.uidMappings need a new user namespace");

        var hostname = r.String("hostname");
        if (hostname is { Length: > 0 } && !newUts) throw Invalid("config.json: hostname is set but the config has no new uts namespace");
        if (r.String("domainname") is { Length: > 0 } dn) warnings.Add($"domainname {dn} ignored");

        // Mounts (and the devices, as binds of the host's nodes).
        var mounts = new List<BundleMount>();
        foreach (var (m, i) in r.Array("mounts").Select((e, i) => (e, i)))
        {
            var o = new Reader(m, $"mounts[{i}]");
            var dest = o.String("destination") ?? throw Invalid($"config.json: mounts[{i}].destination is missing");
            if (!dest.StartsWith('/')) throw Invalid($"config.json: mounts[{i}].destination '{dest}' is not absolute");
            var options = o.Strings("options");
            var type = o.String("type") ?? (options.Contains("bind") || options.Contains("rbind") ? "bind" : "");
            var source = o.String("source") ?? "";
            bool bind = type == "bind" || options.Contains("bind") || options.Contains("rbind");
            if (bind)
            {
                if (!Path.IsPathRooted(source)) source = Path.GetFullPath(Path.Combine(bundle, source));
                if (!Path.Exists(source)) throw Invalid($"config.json: mounts[{i}].source {source} does not exist");
            }
            else if (type is not ("proc" or "sysfs" or "tmpfs" or "devpts" or "mqueue" or "cgroup" or "cgroup2" or "shm" or "overlay" or "ramfs"))
                throw Invalid($"config.json: mounts[{i}].type '{type}' is not supported");
            if (o.Has("uidMappings") || o.Has("gidMappings"))
                throw Invalid($"config.json: mounts[{i}]: idmapped mounts (uidMappings/gidMappings) are not supported");
            foreach (var opt in options)
                if (opt is "idmap" or "ridmap" or "rro" or "rrw" or "copy-symlink")
                    throw Invalid($"config.json: mounts[{i}].options: '{opt}' is not supported");
            mounts.Add(new BundleMount(dest, bind ? "bind" : type, source, options));
        }
        foreach (var (d, i) in linux.Array("devices").Select((e, i) => (e, i)))
        {
            var o = new Reader(d, $"linux.devices[{i}]");
            var devPath = o.String("path") ?? throw Invalid($"config.json: linux.devices[{i}].path is missing");
            if (!File.Exists(devPath))
                throw Invalid($"config.json: linux.devices[{i}]: {devPath} does not exist on this host (devices are bound from the host's nodes)");
            mounts.Add(new BundleMount(devPath, "bind", devPath, ["bind"]));
        }

        // Resources.
        long? memory = null, pids = null;
        double? cpus = null;
        var cgroupsPath = linux.String("cgroupsPath");
        if (cgroupsPath is { Length: > 0 } && cgroupsPath.Contains(':'))
            throw Invalid($"config.json: linux.cgroupsPath {cgroupsPath} is a systemd slice path: systemd is not running here (use --cgroup-manager=cgroupfs)");
        if (linux.Object("resources") is { } res)
        {
            if (res.Object("memory") is { } mem)
            {
                memory = mem.Long("limit") is long l && l > 0 ? l : null;
                if (mem.Long("swap") is long sw && sw > 0 && sw != memory) warnings.Add($"linux.resources.memory.swap {sw}: this runtime allows no swap beyond the memory limit");
                if (mem.Long("reservation") is long rv && rv > 0) warnings.Add("linux.resources.memory.reservation ignored");
                foreach (var field in new[] { "kernel", "kernelTCP" })
                    if (mem.Long(field) is long k && k != 0) warnings.Add($"linux.resources.memory.{field} ignored (kernel memory accounting is not set)");
                if (mem.ULong("swappiness") is ulong sw2 && sw2 != ulong.MaxValue) warnings.Add($"linux.resources.memory.swappiness {sw2} ignored");
                if (mem.Bool("disableOOMKiller") == true) throw Invalid("config.json: linux.resources.memory.disableOOMKiller is not supported");
            }
            if (res.Object("cpu") is { } cpu)
            {
                long? quota = cpu.Long("quota");
                long period = (long)(cpu.ULong("period") ?? 100_000);
                if (quota is long q && q > 0) cpus = (double)q / period;
                if (cpu.ULong("shares") is ulong sh && sh > 0 && sh != 1024) warnings.Add($"linux.resources.cpu.shares {sh} ignored");
                if (cpu.String("cpus") is { Length: > 0 } set) warnings.Add($"linux.resources.cpu.cpus {set} ignored at create (no cpuset; 'update' can set it)");
                if (cpu.String("mems") is { Length: > 0 } mems) warnings.Add($"linux.resources.cpu.mems {mems} ignored at create (no cpuset; 'update' can set it)");
                foreach (var field in new[] { "realtimeRuntime", "realtimePeriod", "idle", "burst" })
                    if (cpu.Long(field) is long v && v != 0) warnings.Add($"linux.resources.cpu.{field} {v} ignored");
            }
            if (res.Object("pids") is { } p && p.Long("limit") is long pl && pl > 0) pids = pl;
            if (res.Array("devices").Any(e => new Reader(e, "").Bool("allow") == true && new Reader(e, "").Long("major") is not (1 or 5 or 136)))
                warnings.Add("linux.resources.devices: device access is enforced by nodev mounts and the configured device nodes, not a device cgroup");
            foreach (var other in new[] { "blockIO", "hugepageLimits", "network", "rdma", "unified" })
                if (res.Has(other)) warnings.Add($"linux.resources.{other} ignored");
        }

        // Seccomp.
        BundleSeccomp? seccomp = null;
        if (linux.Object("seccomp") is { } sc)
        {
            var defaultAction = sc.String("defaultAction") ?? throw Invalid("config.json: linux.seccomp.defaultAction is missing");
            CheckAction(defaultAction, "linux.seccomp.defaultAction");
            if (sc.String("listenerPath") is { Length: > 0 }) throw Invalid("config.json: linux.seccomp.listenerPath (seccomp notify) is not supported");
            if (sc.Strings("flags").Count > 0) warnings.Add($"linux.seccomp.flags {string.Join(",", sc.Strings("flags"))} ignored");
            var rules = new List<BundleSeccompRule>();
            foreach (var (s, i) in sc.Array("syscalls").Select((e, i) => (e, i)))
            {
                var o = new Reader(s, $"linux.seccomp.syscalls[{i}]");
                var action = o.String("action") ?? throw Invalid($"config.json: linux.seccomp.syscalls[{i}].action is missing");
                CheckAction(action, $"linux.seccomp.syscalls[{i}].action");
                var argList = o.Array("args").Select((a, j) =>
                {
                    var ar = new Reader(a, $"linux.seccomp.syscalls[{i}].args[{j}]");
                    var op = ar.String("op") ?? throw Invalid($"config.json: linux.seccomp.syscalls[{i}].args[{j}].op is missing");
                    if (op is not ("SCMP_CMP_EQ" or "SCMP_CMP_NE" or "SCMP_CMP_LT" or "SCMP_CMP_LE" or "SCMP_CMP_GT" or "SCMP_CMP_GE" or "SCMP_CMP_MASKED_EQ"))
                        throw Invalid($"config.json: linux.seccomp.syscalls[{i}].args[{j}].op: unknown operator {op}");
                    return new BundleSeccompArg((int)(ar.UInt("index") ?? 0), ar.ULong("value") ?? 0, ar.ULong("valueTwo") ?? 0, op);
                }).ToArray();
                rules.Add(new BundleSeccompRule(o.Strings("names"), action, (int)(o.UInt("errnoRet") ?? 1), argList));
            }
            seccomp = new BundleSeccomp
            {
                DefaultAction = defaultAction,
                DefaultErrno = (int)(sc.UInt("defaultErrnoRet") ?? 1),
                Architectures = sc.Strings("architectures"),
                Syscalls = rules,
            };
        }

        var sysctl = new Dictionary<string, string>(StringComparer.Ordinal);
        if (linux.Object("sysctl") is { } sys)
            foreach (var p in sys.Element.EnumerateObject())
                sysctl[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : throw Invalid($"config.json: linux.sysctl.{p.Name} is not a string");
        var propagation = linux.String("rootfsPropagation");
        if (propagation is { Length: > 0 } && propagation is not ("private" or "rprivate" or "slave" or "rslave" or "shared" or "rshared" or "unbindable" or "runbindable"))
            throw Invalid($"config.json: linux.rootfsPropagation '{propagation}' is not valid");
        foreach (var unsupported in new[] { "intelRdt", "personality", "timeOffsets" })
            if (linux.Has(unsupported)) throw Invalid($"config.json: linux.{unsupported} is not supported");
        if (linux.String("mountLabel") is { Length: > 0 }) warnings.Add("linux.mountLabel ignored: this runtime does not apply SELinux labels");
        foreach (var field in new[] { "memoryPolicy", "netDevices" })
            if (linux.Has(field)) throw Invalid($"config.json: linux.{field} is not supported");

        var hooks = Hooks(r.Object("hooks"), warnings);

        var annotations = new Dictionary<string, string>(StringComparer.Ordinal);
        if (r.Object("annotations") is { } ann)
            foreach (var p in ann.Element.EnumerateObject())
                if (p.Value.ValueKind == JsonValueKind.String) annotations[p.Name] = p.Value.GetString()!;
        var isolation = defaultIsolation;
        if (annotations.TryGetValue(IsolationAnnotation, out var iso))
            isolation = iso switch
            {
                "vm" => Isolation.Vm,
                "container" => Isolation.Container,
                _ => throw Invalid($"config.json: annotation {IsolationAnnotation}={iso}: use vm or container"),
            };

        if (hooks is not null && isolation == Isolation.Vm)
            throw Invalid("config.json: hooks are not supported with micro-VM isolation yet");

        var bundleSpec = new BundleSpec
        {
            Hooks = hooks,
            ContainerId = id,
            BundlePath = bundle,
            Annotations = annotations,
            RootfsPath = rootPath,
            Mounts = mounts,
            Uid = uid, Gid = gid, AdditionalGids = additionalGids, Umask = umask,
            CapBounding = Caps("bounding"), CapEffective = Caps("effective"), CapPermitted = Caps("permitted"),
            CapInheritable = Caps("inheritable"), CapAmbient = Caps("ambient"),
            NoNewPrivileges = process.Bool("noNewPrivileges") ?? false,
            OomScoreAdj = process.Long("oomScoreAdj") is long adj ? (int)adj : null,
            MaskedPaths = linux.Strings("maskedPaths"),
            ReadonlyPaths = linux.Strings("readonlyPaths"),
            Sysctl = sysctl,
            Seccomp = seccomp,
            RootfsPropagation = propagation,
            SetHostname = newUts && hostname is { Length: > 0 },
            NewNamespaces = newNs,
            Joins = joins,
            UidMappings = uidMaps,
            GidMappings = gidMaps,
            CgroupsPath = cgroupsPath is { Length: > 0 } ? cgroupsPath : null,
            ConsoleSocket = consoleSocket,
        };
        var spec = new SandboxSpec
        {
            Id = id,
            Image = "bundle:" + bundle,
            Entrypoint = args,
            Args = [],
            Env = env,
            WorkingDir = cwd,
            User = $"{uid}:{gid}",
            Hostname = hostname is { Length: > 0 } ? hostname : null,
            Tty = terminal,
            Interactive = true,
            Limits = new ResourceLimits(memory, cpus, pids),
            Ulimits = ulimits,
            Network = newNet ? NetworkMode.None : NetworkMode.Host,
            ReadOnlyRootfs = readOnly,
            Isolation = isolation,
            Bundle = bundleSpec,
        };
        return new Result(spec, annotations, warnings)
        {
            ConsoleRows = (ushort)Math.Min(consoleSize?.UInt("height") ?? 0, ushort.MaxValue),
            ConsoleColumns = (ushort)Math.Min(consoleSize?.UInt("width") ?? 0, ushort.MaxValue),
        };
    }

    /// <summary><c>hooks</c>: the six POSIX-platform lists; null when there are none.</summary>
    private static BundleHooks? Hooks(Reader? hooks, List<string> warnings)
    {
        if (hooks is null) return null;
        IReadOnlyList<BundleHook> List(string name) => hooks.Array(name).Select((e, i) =>
        {
            var field = $"hooks.{name}[{i}]";
            var h = new Reader(e, field);
            var path = h.String("path") ?? throw Invalid($"config.json: {field}.path is missing");
            if (!path.StartsWith('/')) throw Invalid($"config.json: {field}.path '{path}' is not absolute");
            var timeout = h.Long("timeout");
            if (timeout is <= 0 or > int.MaxValue) throw Invalid($"config.json: {field}.timeout must be a positive number of seconds");
            return new BundleHook(path, h.Strings("args"), h.Has("env") ? h.Strings("env") : null, (int?)timeout);
        }).ToList();
        foreach (var p in hooks.Element.EnumerateObject())
            if (p.Name is not ("prestart" or "createRuntime" or "createContainer" or "startContainer" or "poststart" or "poststop"))
                warnings.Add($"hooks.{p.Name}: not a hook this runtime knows; ignored");
        var result = new BundleHooks
        {
            Prestart = List("prestart"), CreateRuntime = List("createRuntime"), CreateContainer = List("createContainer"),
            StartContainer = List("startContainer"), Poststart = List("poststart"), Poststop = List("poststop"),
        };
        return result == new BundleHooks() || (result.Prestart.Count + result.CreateRuntime.Count + result.CreateContainer.Count +
            result.StartContainer.Count + result.Poststart.Count + result.Poststop.Count) == 0 ? null : result;
    }

    private static long Limit(ulong v) => v > long.MaxValue ? Ulimit.Unlimited : (long)v;

    private static void CheckAction(string action, string field)
    {
        if (action is "SCMP_ACT_TRACE" or "SCMP_ACT_NOTIFY")
            throw Invalid($"config.json: {field}: {action} is not supported");
        if (action is not ("SCMP_ACT_ALLOW" or "SCMP_ACT_ERRNO" or "SCMP_ACT_KILL" or "SCMP_ACT_KILL_THREAD" or "SCMP_ACT_KILL_PROCESS" or "SCMP_ACT_TRAP" or "SCMP_ACT_LOG"))
            throw Invalid($"config.json: {field}: unknown action {action}");
    }

    private static List<IdMapEntry> IdMaps(Reader linux, string name) =>
        linux.Array(name).Select((e, i) =>
        {
            var o = new Reader(e, $"linux.{name}[{i}]");
            return new IdMapEntry(o.UInt("containerID") ?? 0, o.UInt("hostID") ?? 0, o.UInt("size") ?? 0);
        }).ToList();

    /// <summary>Typed access to one object of the config; a value of the wrong type is an error naming its field.</summary>
    internal sealed class Reader(JsonElement element, string path)
    {
        public JsonElement Element => element;
        private string Field(string name) => path.Length == 0 ? name : path + "." + name;

        private JsonElement? Get(string name) =>
            element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

        public bool Has(string name) => Get(name) is not null;

        public string? String(string name) => Get(name) is { } v
            ? v.ValueKind == JsonValueKind.String ? v.GetString() : throw Invalid($"config.json: {Field(name)} must be a string")
            : null;

        public bool? Bool(string name) => Get(name) is { } v
            ? v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : throw Invalid($"config.json: {Field(name)} must be true or false")
            : null;

        public long? Long(string name) => Get(name) is { } v
            ? v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) ? n : throw Invalid($"config.json: {Field(name)} must be an integer")
            : null;

        public ulong? ULong(string name) => Get(name) is { } v
            ? v.ValueKind == JsonValueKind.Number && v.TryGetUInt64(out var n) ? n
              : v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var s) && s == -1 ? ulong.MaxValue
              : throw Invalid($"config.json: {Field(name)} must be a non-negative integer")
            : null;

        public uint? UInt(string name) => Get(name) is { } v
            ? v.ValueKind == JsonValueKind.Number && v.TryGetUInt32(out var n) ? n : throw Invalid($"config.json: {Field(name)} must be a non-negative 32-bit integer")
            : null;

        public Reader? Object(string name) => Get(name) is { } v
            ? v.ValueKind == JsonValueKind.Object ? new Reader(v, Field(name)) : throw Invalid($"config.json: {Field(name)} must be an object")
            : null;

        public IReadOnlyList<JsonElement> Array(string name) => Get(name) is { } v
            ? v.ValueKind == JsonValueKind.Array ? v.EnumerateArray().ToList() : throw Invalid($"config.json: {Field(name)} must be an array")
            : [];

        public IReadOnlyList<string> Strings(string name) =>
            Array(name).Select((e, i) => e.ValueKind == JsonValueKind.String ? e.GetString()! : throw Invalid($"config.json: {Field(name)}[{i}] must be a string")).ToList();
    }

    private static uint UIntAt(this JsonElement e, string field) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetUInt32(out var n) ? n : throw Invalid($"config.json: {field} must be a non-negative 32-bit integer");
}
