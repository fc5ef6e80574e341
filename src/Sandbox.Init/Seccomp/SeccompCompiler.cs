namespace Sandbox.Init.Seccomp;

/// <summary>
/// Compiles a docker-format profile into classic BPF for seccomp(2), for x86-64 with its two other ABIs, laid out as
/// libseccomp does: check the architecture (x86-64 and i386 by AUDIT_ARCH, x32 by the syscall number's bit), then one
/// compare per named call, argument checks inline, the default action last. Any other architecture kills the process.
/// </summary>
public static class SeccompCompiler
{
    private const uint RetKillProcess = 0x80000000, RetErrno = 0x00050000, RetAllow = 0x7fff0000;
    private const ushort LdW = 0x20, Ja = 0x05, Jeq = 0x15, Jgt = 0x25, Jge = 0x35, Jset = 0x45, AndK = 0x54, Ret = 0x06;
    private const uint OffsetNr = 0, OffsetArch = 4, OffsetArgs = 16;

    public static ulong[] Compile(int defaultErrno, ISet<string> caps, Version kernel) =>
        Compile(DockerProfile.Rules, RetErrno | (uint)defaultErrno, caps, kernel, SeccompArch.All);

    /// <summary>
    /// Any profile (an OCI config's <c>linux.seccomp</c>): <paramref name="rules"/>, <paramref name="defaultRet"/> (a
    /// SECCOMP_RET_* value) for calls they do not name, and the ABIs the profile allows; the other ABIs kill the
    /// process, as libseccomp's default bad-architecture action.
    /// </summary>
    public static ulong[] Compile(IReadOnlyList<SeccompRule> rules, uint defaultRet, ISet<string> caps, Version kernel,
        IReadOnlyCollection<SeccompArch> arches)
    {
        var asm = new Assembler();
        int notX86_64 = asm.NewLabel(), x32 = asm.NewLabel(), killProcess = asm.NewLabel();
        asm.Emit(LdW, OffsetArch);
        asm.JumpUnless(Jeq, SeccompArch.X86_64.AuditArch, notX86_64);
        asm.Emit(LdW, OffsetNr);
        asm.JumpIf(Jge, SeccompArch.X32SyscallBit, x32);
        EmitArch(asm, rules, SeccompArch.X86_64, defaultRet, caps, kernel, arches);
        asm.Place(x32);
        EmitArch(asm, rules, SeccompArch.X32, defaultRet, caps, kernel, arches);
        asm.Place(notX86_64);
        asm.JumpUnless(Jeq, SeccompArch.I386.AuditArch, killProcess);
        asm.Emit(LdW, OffsetNr);
        EmitArch(asm, rules, SeccompArch.I386, defaultRet, caps, kernel, arches);
        asm.Place(killProcess);
        asm.Emit(Ret, RetKillProcess);
        return asm.Link();
    }

    /// <summary>The default profile for a workload with these capabilities on this kernel.</summary>
    public static ulong[] CompileDefault(ISet<string> caps, Version kernel) =>
        Compile(DockerProfile.DefaultErrno, caps, kernel);

    private static void EmitArch(Assembler asm, IReadOnlyList<SeccompRule> rules, SeccompArch arch, uint defaultRet,
        ISet<string> caps, Version kernel, IReadOnlyCollection<SeccompArch> arches)
    {
        if (!arches.Contains(arch))
        {
            asm.Emit(Ret, RetKillProcess);
            return;
        }
        // A holds the syscall number here.
        foreach (var d in DockerProfile.Resolve(rules, arch, caps, kernel))
        {
            if (d.Rules is [{ Args: null or [] } only])
            {
                asm.SkipUnless(Jeq, d.Number, 1);
                asm.Emit(Ret, Action(only));
                continue;
            }
            int next = asm.NewLabel();
            asm.JumpUnless(Jeq, d.Number, next);
            foreach (var rule in d.Rules)
            {
                int failed = asm.NewLabel();
                foreach (var arg in rule.Args ?? []) EmitArgCheck(asm, arg, failed);
                asm.Emit(Ret, Action(rule));
                asm.Place(failed);
            }
            // No conditional rule matched: the default. (Unconditional rules returned above.)
            if (d.Rules.Any(r => r.Args is { Length: > 0 })) asm.Emit(Ret, defaultRet);
            asm.Place(next); // reached only from the number compare: A still holds the number
        }
        asm.Emit(Ret, defaultRet);
    }

    /// <summary>The SECCOMP_RET_* value of an action.</summary>
    public static uint Return(SeccompAction action, int errno) => action switch
    {
        SeccompAction.Allow => RetAllow,
        SeccompAction.Errno => RetErrno | (uint)(errno & 0xffff),
        SeccompAction.KillProcess => RetKillProcess,
        SeccompAction.KillThread => 0x00000000,
        SeccompAction.Trap => 0x00030000,
        SeccompAction.Log => 0x7ffc0000,
        _ => throw new ArgumentOutOfRangeException(nameof(action)),
    };

    private static uint Action(SeccompRule rule) => Return(rule.Action, rule.Errno);

    /// <summary>Falls through when the condition holds, jumps to <paramref name="failed"/> when not. 64-bit, unsigned.</summary>
    private static void EmitArgCheck(Assembler asm, SeccompArg arg, int failed)
    {
        uint lo = OffsetArgs + 8 * (uint)arg.Index, hi = lo + 4;
        uint vLo = (uint)arg.Value, vHi = (uint)(arg.Value >> 32);
        int holds = asm.NewLabel();
        switch (arg.Op)
        {
            case SeccompOp.Eq:
                asm.Emit(LdW, hi); asm.JumpUnless(Jeq, vHi, failed);
                asm.Emit(LdW, lo); asm.JumpUnless(Jeq, vLo, failed);
                break;
            case SeccompOp.Ne:
                asm.Emit(LdW, hi); asm.JumpUnless(Jeq, vHi, holds);
                asm.Emit(LdW, lo); asm.JumpIf(Jeq, vLo, failed);
                break;
            case SeccompOp.MaskedEq:
                uint w2Lo = (uint)arg.ValueTwo, w2Hi = (uint)(arg.ValueTwo >> 32);
                asm.Emit(LdW, hi); asm.Emit(AndK, vHi); asm.JumpUnless(Jeq, w2Hi, failed);
                asm.Emit(LdW, lo); asm.Emit(AndK, vLo); asm.JumpUnless(Jeq, w2Lo, failed);
                break;
            case SeccompOp.Gt or SeccompOp.Ge:
                // hi > vHi: holds; hi < vHi: fails; equal: decide on the low word.
                asm.Emit(LdW, hi); asm.JumpIf(Jgt, vHi, holds); asm.JumpUnless(Jeq, vHi, failed);
                asm.Emit(LdW, lo); asm.JumpUnless(arg.Op == SeccompOp.Gt ? Jgt : Jge, vLo, failed);
                break;
            case SeccompOp.Lt or SeccompOp.Le:
                // hi < vHi: holds; hi > vHi: fails; equal: decide on the low word.
                asm.Emit(LdW, hi); asm.JumpUnless(Jge, vHi, holds); asm.JumpIf(Jgt, vHi, failed);
                asm.Emit(LdW, lo); asm.JumpIf(arg.Op == SeccompOp.Lt ? Jge : Jgt, vLo, failed);
                break;
        }
        asm.Place(holds);
    }

    /// <summary>
    /// A tiny BPF assembler with labels. Conditional jumps reach only 255 instructions, so a jump to a label is a
    /// conditional skip over an unconditional <c>ja</c> (32-bit offset) unless the label is near.
    /// </summary>
    private sealed class Assembler
    {
        private readonly List<(ushort Code, uint K, int Target)> _code = [];
        private readonly List<int> _labels = [];

        public int NewLabel()
        {
            _labels.Add(-1);
            return _labels.Count - 1;
        }

        public void Place(int label) => _labels[label] = _code.Count;

        public void Emit(ushort code, uint k) => _code.Add((code, k, -1));

        /// <summary>if !(A op k) skip the next <paramref name="count"/> instructions.</summary>
        public void SkipUnless(ushort op, uint k, byte count) => _code.Add((op, k, -100 - count));

        /// <summary>if (A op k) goto label.</summary>
        public void JumpIf(ushort op, uint k, int label)
        {
            _code.Add((op, k, -2));        // jt=0 (to the ja), jf=1 (past it)
            _code.Add((Ja, 0, label));
        }

        /// <summary>if !(A op k) goto label.</summary>
        public void JumpUnless(ushort op, uint k, int label)
        {
            _code.Add((op, k, -3));        // jt=1 (past the ja), jf=0 (to it)
            _code.Add((Ja, 0, label));
        }

        public ulong[] Link()
        {
            if (_code.Count > 4096) throw new InvalidOperationException($"seccomp program of {_code.Count} instructions exceeds BPF_MAXINSNS");
            var program = new ulong[_code.Count];
            for (int i = 0; i < _code.Count; i++)
            {
                var (code, k, target) = _code[i];
                byte jt = 0, jf = 0;
                if (target <= -100) jf = (byte)(-100 - target);
                else if (target == -2) jf = 1;
                else if (target == -3) jt = 1;
                else if (target >= 0)
                {
                    int at = _labels[target];
                    if (at < 0) throw new InvalidOperationException("unplaced label");
                    k = (uint)(at - (i + 1));
                }
                program[i] = code | ((ulong)jt << 16) | ((ulong)jf << 24) | ((ulong)k << 32);
            }
            return program;
        }
    }
}
