using System.Text.Json;
using Sandbox.Init.Seccomp;
using Xunit;

namespace Sandbox.Container.Tests;

/// <summary>
/// The compiled filter against docker's default profile (docker-default.json, moby/profiles) read here on its own:
/// every system call of x86-64, x32 and i386, run through a classic-BPF interpreter, gets the action the JSON gives
/// it for docker's default capabilities; plus the argument filters, and the architecture checks.
/// </summary>
public sealed class SeccompProfileTests
{
    private const uint RetKillProcess = 0x80000000, RetAllow = 0x7fff0000, RetErrno = 0x00050000;
    private const uint EPERM = 1, ENOSYS = 38;

    // docker's default capability set (the one sandbox-init gives the workload).
    private static readonly HashSet<string> Caps =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID",
        "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP",
    ];

    private static readonly Version Kernel = new(6, 1);
    private static readonly ulong[] Filter = SeccompCompiler.CompileDefault(Caps, Kernel);

    [Fact]
    public void Every_call_of_every_x86_abi_gets_the_profiles_action()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "seccomp", "docker-default.json")));
        var root = json.RootElement;
        Assert.Equal("SCMP_ACT_ERRNO", root.GetProperty("defaultAction").GetString());
        uint defaultErrno = root.GetProperty("defaultErrnoRet").GetUInt32();
        Assert.Equal(EPERM, defaultErrno);
        var failures = new List<string>();
        int allowed = 0;
        foreach (var arch in SeccompArch.All)
        {
            foreach (var (name, nr) in SyscallTable.For(arch))
            {
                uint expected = ExpectedFromJson(root, arch, name, defaultErrno);
                uint got = Run(arch.AuditArch, nr);
                if (got != expected) failures.Add($"{arch.Name} {name} ({nr}): expected {Describe(expected)}, got {Describe(got)}");
                if (got == RetAllow) allowed++;
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.InRange(allowed, 3 * 250, 3 * 400); // an allow-list of some 330 calls per ABI, not a deny-list
        Assert.InRange(Filter.Length, 100, 4096);
    }

    [Fact]
    public void The_known_refusals_and_argument_filters()
    {
        var x64 = SeccompArch.X86_64.AuditArch;
        var n = SyscallTable.For(SeccompArch.X86_64);
        Assert.Equal(RetErrno | EPERM, Run(x64, n["mount"]));
        Assert.Equal(RetErrno | EPERM, Run(x64, n["unshare"], 0x10000000));
        Assert.Equal(RetErrno | EPERM, Run(x64, n["keyctl"]));
        Assert.Equal(RetErrno | ENOSYS, Run(x64, n["clone3"]));
        Assert.Equal(RetErrno | EPERM, Run(x64, 1000));                          // a call the profile does not know
        // clone: only without namespace flags (CLONE_NEWUSER, CLONE_NEWNS, ...).
        Assert.Equal(RetAllow, Run(x64, n["clone"], 0x11 /* SIGCHLD */));
        Assert.Equal(RetAllow, Run(x64, n["clone"], 0x003d0f00 /* pthread_create's flags */));
        Assert.Equal(RetErrno | EPERM, Run(x64, n["clone"], 0x10000000 | 0x11));
        Assert.Equal(RetErrno | EPERM, Run(x64, n["clone"], 0x00020000 | 0x11));
        // personality: the safe values only; the upper half of the 64-bit argument counts too.
        foreach (var ok in new ulong[] { 0, 8, 0x20000, 0x20008, 0xffffffff })
            Assert.Equal(RetAllow, Run(x64, n["personality"], ok));
        Assert.Equal(RetErrno | EPERM, Run(x64, n["personality"], 0x0400000));
        Assert.Equal(RetErrno | EPERM, Run(x64, n["personality"], 0x1_0000_0000));
        // socket: every family but AF_ALG (38) and AF_VSOCK (40).
        foreach (var family in new ulong[] { 1, 2, 10, 16, 17, 37, 39, 41, 45 })
            Assert.Equal(RetAllow, Run(x64, n["socket"], family));
        Assert.Equal(RetErrno | EPERM, Run(x64, n["socket"], 38));
        Assert.Equal(RetErrno | EPERM, Run(x64, n["socket"], 40));
        // 64-bit comparisons, as libseccomp's: this is "> 40" (and the kernel reads the int 1, AF_UNIX).
        Assert.Equal(RetAllow, Run(x64, n["socket"], 0x1_0000_0028));
        // x32 numbers have their own table, i386 its own (int 0x80: AUDIT_ARCH_I386).
        var x32 = SyscallTable.For(SeccompArch.X32);
        Assert.Equal(RetAllow, Run(x64, x32["getpid"]));
        Assert.Equal(RetErrno | EPERM, Run(x64, x32["mount"]));
        var i386 = SyscallTable.For(SeccompArch.I386);
        Assert.Equal(RetAllow, Run(SeccompArch.I386.AuditArch, i386["getpid"]));
        Assert.Equal(RetErrno | EPERM, Run(SeccompArch.I386.AuditArch, i386["mount"]));
        Assert.Equal(RetAllow, Run(SeccompArch.I386.AuditArch, i386["socketcall"]));
        // Any other architecture: killed.
        Assert.Equal(RetKillProcess, Run(0xC00000B7 /* AUDIT_ARCH_AARCH64 */, 172));
    }

    [Fact]
    public void Capabilities_open_what_docker_opens()
    {
        var withAdmin = new HashSet<string>(Caps) { "CAP_SYS_ADMIN", "CAP_SYS_PTRACE" };
        var filter = SeccompCompiler.CompileDefault(withAdmin, Kernel);
        var n = SyscallTable.For(SeccompArch.X86_64);
        Assert.Equal(RetAllow, Run(filter, SeccompArch.X86_64.AuditArch, n["mount"]));
        Assert.Equal(RetAllow, Run(filter, SeccompArch.X86_64.AuditArch, n["clone"], 0x10000000));
        Assert.Equal(RetAllow, Run(filter, SeccompArch.X86_64.AuditArch, n["clone3"]));
        Assert.Equal(RetAllow, Run(filter, SeccompArch.X86_64.AuditArch, n["process_vm_readv"]));
        Assert.Equal(RetErrno | EPERM, Run(filter, SeccompArch.X86_64.AuditArch, n["reboot"])); // CAP_SYS_BOOT
        // ptrace needs no capability on a kernel of 4.8 or later (seccomp can no longer be bypassed with it).
        Assert.Equal(RetErrno | EPERM, Run(SeccompCompiler.CompileDefault(Caps, new Version(4, 4)), SeccompArch.X86_64.AuditArch, n["ptrace"]));
        Assert.Equal(RetAllow, Run(SeccompArch.X86_64.AuditArch, n["ptrace"]));
    }

    /// <summary>The JSON's answer for a call with all-zero arguments, evaluated as docker/libseccomp do.</summary>
    private static uint ExpectedFromJson(JsonElement root, SeccompArch arch, string name, uint defaultErrno)
    {
        var applicable = new List<JsonElement>();
        foreach (var rule in root.GetProperty("syscalls").EnumerateArray())
        {
            if (!rule.GetProperty("names").EnumerateArray().Any(x => x.GetString() == name)) continue;
            var inc = rule.TryGetProperty("includes", out var i) ? i : default;
            var exc = rule.TryGetProperty("excludes", out var e) ? e : default;
            if (List(inc, "caps") is { Count: > 0 } ic && !ic.All(Caps.Contains)) continue;
            if (List(exc, "caps") is { Count: > 0 } ec && ec.Any(Caps.Contains)) continue;
            if (List(inc, "arches") is { Count: > 0 } ia && !ia.Contains(arch.DockerName)) continue;
            if (List(exc, "arches") is { Count: > 0 } ea && ea.Contains(arch.DockerName)) continue;
            if (inc.ValueKind == JsonValueKind.Object && inc.TryGetProperty("minKernel", out var mk) && Kernel < Version.Parse(mk.GetString()!)) continue;
            applicable.Add(rule);
        }
        static bool HasArgs(JsonElement r) => r.TryGetProperty("args", out var a) && a.ValueKind == JsonValueKind.Array && a.GetArrayLength() > 0;
        var chosen = applicable.FirstOrDefault(r => !HasArgs(r));
        if (chosen.ValueKind == JsonValueKind.Undefined)
            chosen = applicable.FirstOrDefault(r => HasArgs(r) && r.GetProperty("args").EnumerateArray().All(ArgHoldsForZero));
        if (chosen.ValueKind == JsonValueKind.Undefined) return RetErrno | defaultErrno;
        return chosen.GetProperty("action").GetString() == "SCMP_ACT_ALLOW" ? RetAllow
            : RetErrno | (chosen.TryGetProperty("errnoRet", out var er) ? er.GetUInt32() : defaultErrno);
    }

    private static bool ArgHoldsForZero(JsonElement arg)
    {
        ulong v = arg.GetProperty("value").GetUInt64();
        ulong two = arg.TryGetProperty("valueTwo", out var t) ? t.GetUInt64() : 0;
        return arg.GetProperty("op").GetString() switch
        {
            "SCMP_CMP_EQ" => v == 0, "SCMP_CMP_NE" => v != 0, "SCMP_CMP_LT" => 0 < v, "SCMP_CMP_LE" => true,
            "SCMP_CMP_GT" => false, "SCMP_CMP_GE" => v == 0, "SCMP_CMP_MASKED_EQ" => two == 0,
            var op => throw new InvalidOperationException("unknown op " + op),
        };
    }

    private static List<string> List(JsonElement obj, string key) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(key, out var a) && a.ValueKind == JsonValueKind.Array
            ? a.EnumerateArray().Select(x => x.GetString()!).ToList() : [];

    private static uint Run(uint arch, uint nr, params ulong[] args) => Run(Filter, arch, nr, args);

    /// <summary>A classic-BPF interpreter for what the compiler emits, over a struct seccomp_data.</summary>
    private static uint Run(ulong[] program, uint arch, uint nr, params ulong[] args)
    {
        var data = new byte[64];
        BitConverter.TryWriteBytes(data.AsSpan(0), nr);
        BitConverter.TryWriteBytes(data.AsSpan(4), arch);
        for (int i = 0; i < args.Length; i++) BitConverter.TryWriteBytes(data.AsSpan(16 + 8 * i), args[i]);
        uint a = 0;
        for (int pc = 0; pc < program.Length; pc++)
        {
            ulong ins = program[pc];
            ushort code = (ushort)ins;
            byte jt = (byte)(ins >> 16), jf = (byte)(ins >> 24);
            uint k = (uint)(ins >> 32);
            switch (code)
            {
                case 0x20: a = BitConverter.ToUInt32(data, (int)k); break;
                case 0x54: a &= k; break;
                case 0x06: return k;
                case 0x05: pc += (int)k; break;
                case 0x15: pc += a == k ? jt : jf; break;
                case 0x25: pc += a > k ? jt : jf; break;
                case 0x35: pc += a >= k ? jt : jf; break;
                case 0x45: pc += (a & k) != 0 ? jt : jf; break;
                default: throw new InvalidOperationException($"unexpected BPF code 0x{code:x} at {pc}");
            }
        }
        throw new InvalidOperationException("fell off the end of the program");
    }

    private static string Describe(uint ret) =>
        ret == RetAllow ? "ALLOW" : ret == RetKillProcess ? "KILL" : (ret & 0xffff0000) == RetErrno ? $"ERRNO({ret & 0xffff})" : $"0x{ret:x}";
}
