using System.Globalization;
using Sandbox.Core;
using System.Security;
using System.Text;

namespace Sandbox.MicroVm;

/// <summary>
/// The libvirt domain XML of one sandbox (see docs/microvm.md, "Domain"). Chosen for boot speed: a <c>microvm</c>
/// machine (no PCI, no ACPI, no firmware: qemu jumps straight into the PVH kernel), virtio-mmio devices, and nothing
/// the workload does not need: no graphics, sound, USB or balloon, and a NIC only on a bridge network (<see cref="Nic"/>).
/// </summary>
internal sealed record DomainDefinition
{
    public required string Name { get; init; }
    public required DomainOwner Owner { get; init; }
    public required Accelerator Accelerator { get; init; }
    public required long MemoryMiB { get; init; }
    public required int Cpus { get; init; }
    public required string KernelPath { get; init; }
    public required string InitramfsPath { get; init; }
    /// <summary>The image's EROFS disk; null for the KVM probe, which only waits for init's Hello.</summary>
    public required string? RootDiskPath { get; init; }
    public required string ChannelSocketPath { get; init; }
    public required string ConsoleLogPath { get; init; }
    public string PortName { get; init; } = "org.sandbox.init.0";
    /// <summary>
    /// A warm pool member: init runs its Start parser once before it says Hello, so that a claimed member does not pay
    /// TCG's translation of that code on the run's path (docs/microvm.md, "Warm pool").
    /// </summary>
    public bool Prewarm { get; init; }
    /// <summary>A virtio-net NIC on a bridge network; null: no NIC (loopback only).</summary>
    public GuestNic? Nic { get; init; }
    /// <summary>Host directories shared over virtio-9p (an OCI bundle's rootfs and bind sources).</summary>
    public IReadOnlyList<GuestShare> Shares { get; init; } = [];

    /// <summary>
    /// The one builder of a guest's domain (a run's cold boot, a pool member's boot, the KVM probe): named after the
    /// sandbox, owned by this process, booting <paramref name="guest"/>, its channel socket and serial log in
    /// <paramref name="dir"/>. What differs per use (a NIC, shares, prewarm) is added with <c>with</c>.
    /// </summary>
    public static DomainDefinition ForGuest(string id, SandboxPaths paths, GuestArtifacts guest, Accelerator accelerator, long memoryMiB,
        int cpus, string? rootDiskPath, SandboxDirectory dir) => new()
    {
        Name = MicroVmSandbox.FormatId(id),
        Owner = DomainOwner.Current(paths),
        Accelerator = accelerator,
        MemoryMiB = memoryMiB,
        Cpus = cpus,
        KernelPath = guest.KernelPath,
        InitramfsPath = guest.InitramfsPath,
        RootDiskPath = rootDiskPath,
        ChannelSocketPath = dir.PathOf("init.sock"),
        ConsoleLogPath = dir.PathOf("console.log"),
    };

    /// <summary>
    /// TCG only: the size of qemu's translation cache (<c>-accel tcg,tb-size=</c>), null for qemu's default. The code TCG
    /// translated stays resident for the guest's life; a smaller cache is flushed and refilled instead
    /// (docs/microvm.md, "Idle footprint"). <c>SANDBOX_VM_TB_CACHE_MIB</c> overrides it (0: qemu's default).
    /// </summary>
    public int? TranslationCacheMiB { get; init; } = EnvironmentMiB("SANDBOX_VM_TB_CACHE_MIB", DefaultTranslationCacheMiB);

    /// <summary>
    /// qemu 7.2's default for system emulation is 1 GiB, of which a boot of ours fills 44-46 MiB, all of it resident for
    /// the guest's life. 16 MiB: an idle VM's qemu PSS 106 MiB instead of 138-140 MiB, for +6% on a TCG cold run at load 6 (+21% on a quiet machine: docs/microvm.md); 8 MiB
    /// cost +24%, 4 MiB thrashed (runs 2-3x slower) (bench/vm-footprint.sh, docs/microvm.md).
    /// </summary>
    public const int DefaultTranslationCacheMiB = 16;

    /// <summary>
    /// A virtio balloon with free page reporting: the guest tells qemu which freed pages it may drop (docs/microvm.md,
    /// "Idle footprint"). Off: measured without effect (qemu backs guest RAM with transparent huge pages, and an idle
    /// guest has no freed 2 MiB block it had touched). <c>SANDBOX_VM_FREE_PAGE_REPORTING=on|off</c> overrides it, for
    /// measurements.
    /// </summary>
    public bool FreePageReporting { get; init; } = Environment.GetEnvironmentVariable("SANDBOX_VM_FREE_PAGE_REPORTING") switch
    {
        "on" => true,
        "off" => false,
        _ => DefaultFreePageReporting,
    };

    public const bool DefaultFreePageReporting = false;

    private static int? EnvironmentMiB(string name, int? fallback) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } s && int.TryParse(s, CultureInfo.InvariantCulture, out int v) && v >= 0
            ? (v == 0 ? null : v)
            : fallback;

    /// <summary>The kernel parameter (and so init's environment variable) that asks init to prewarm.</summary>
    public const string PrewarmParameter = "sandbox_prewarm";

    /// <summary>The guest kernel's command line.</summary>
    public string KernelCommandLine()
    {
        // random.trust_cpu=on: the kernel seeds its RNG from RDRAND at boot (TCG emulates it from the host's getrandom;
        // KVM passes the CPU's through). Without it the first getrandom(2) in the guest (the .NET runtime's, early in
        // init) blocked until the kernel's jitter entropy collector had enough: 1.2-3 s of every cold boot under TCG
        // (bench/vm-breakdown.sh, "init: mount /dev /proc /sys"). The host's seed at Start still mixes in fresh bytes.
        // norandmaps: the guest's PID 1 and the workload's init (the same binary) map at the same addresses, so qemu's
        // TCG reuses the first one's translated code for the second (translation blocks are looked up by virtual and
        // physical address): the workload's init reached its root switch in 75-110 ms instead of 290-310 ms. The
        // workload's init turns randomization back on (randomize_va_space=2) before anything else is exec'd, so the
        // workload and exec'd processes get ASLR as on any host (GuestWorkloadInit).
        var sb = new StringBuilder("console=ttyS0 reboot=t panic=-1 quiet random.trust_cpu=on norandmaps");
        // Without ACPI nothing else tells the TCG guest its TSC frequency (see HostClock).
        if (HostClock.TscKhz is long khz) sb.Append(" tsc_early_khz=").Append(khz.ToString(CultureInfo.InvariantCulture));
        // TCG has no TSC-deadline timer, so the kernel calibrates the local APIC timer against the PIT: 220 ms of every
        // TCG boot (two 100 ms windows). A single vCPU can do without it: the PIT is then the one-shot clock event device
        // (NO_HZ and high-resolution timers still work; the guest has no ACPI, libvirt passes -no-acpi). With several
        // vCPUs the secondary ones need their local timer ("could not switch to one-shot mode"), so they keep it; KVM
        // guests (host-passthrough: TSC-deadline) skip the calibration anyway.
        if (Accelerator == Accelerator.Tcg && Cpus == 1) sb.Append(" noapictimer");
        // An unknown key=value reaches init as an environment variable.
        if (Prewarm) sb.Append(' ').Append(PrewarmParameter).Append("=1");
        // For measurements and debugging only (e.g. "loglevel=7 initcall_debug"); documented in docs/microvm.md.
        if (Environment.GetEnvironmentVariable("SANDBOX_VM_KERNEL_ARGS") is { Length: > 0 } extra) sb.Append(' ').Append(extra);
        return sb.ToString();
    }

    public string ToXml()
    {
        static string E(string s) => SecurityElement.Escape(s);
        var type = Accelerator == Accelerator.Kvm ? "kvm" : "qemu";
        // qemu runs as root without relabelling (seclabel): libvirt's default chowns every file it is given to its qemu
        // user and back at teardown, which races when concurrent sandboxes share one cached root disk, and the qemu
        // user could not reach a store under a private temp dir. Confinement is the guest boundary itself.
        var disk = RootDiskPath is null ? "" : $"""
            <disk type='file' device='disk'>
                  <driver name='qemu' type='raw'/>
                  <source file='{E(RootDiskPath)}'/>
                  <target dev='vda' bus='virtio'/>
                  <readonly/>
                  <address type='virtio-mmio'/>
                </disk>
            """;
        // TCG: qemu's "max" CPU (every feature TCG emulates, so images built for x86-64-v2 and later run; qemu64, the
        // default, lacks SSE4.2/POPCNT). Given as a qemu argument rather than <cpu mode='maximum'>: for any <cpu>
        // libvirt reads every CPU feature back from qemu after start (~300 QMP round trips), measured 0.35 s of
        // create; without <cpu> it passes "-cpu qemu64", which our later "-cpu max" overrides.
        var cpu = Accelerator == Accelerator.Kvm ? "<cpu mode='host-passthrough' check='none'/>" : "";
        var features = Accelerator == Accelerator.Tcg && TranslationCacheMiB is int tb
            ? $"<features><tcg><tb-cache unit='MiB'>{tb}</tb-cache></tcg></features>"
            : "";
        // libvirt needs the balloon's virtio-mmio address on a microvm machine (it has no PCI bus).
        var balloon = FreePageReporting
            ? "<memballoon model='virtio' freePageReporting='on'><address type='virtio-mmio'/></memballoon>"
            : "<memballoon model='none'/>";
        var qemuArgs = Accelerator == Accelerator.Kvm ? ""
            : "<qemu:commandline><qemu:arg value='-cpu'/><qemu:arg value='max'/></qemu:commandline>";
        return $"""
            <domain type='{type}' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
              <name>{E(Name)}</name>
              <title>sandbox micro-VM (owner pid {Owner.Pid})</title>
              <metadata>{Owner.ToXml()}</metadata>
              <memory unit='MiB'>{MemoryMiB}</memory>
              <vcpu>{Cpus}</vcpu>
              <os>
                <type arch='x86_64' machine='microvm'>hvm</type>
                <kernel>{E(KernelPath)}</kernel>
                <initrd>{E(InitramfsPath)}</initrd>
                <cmdline>{E(KernelCommandLine())}</cmdline>
              </os>
              {features}
              {cpu}
              <clock offset='utc'/>
              <on_poweroff>destroy</on_poweroff>
              <on_reboot>destroy</on_reboot>
              <on_crash>destroy</on_crash>
              <seclabel type='static' model='dac' relabel='no'><label>+0:+0</label></seclabel>
              <devices>
                {disk}
                <controller type='usb' model='none'/>
                <controller type='virtio-serial' index='0'><address type='virtio-mmio'/></controller>
                <channel type='unix'>
                  <source mode='bind' path='{E(ChannelSocketPath)}'/>
                  <target type='virtio' name='{E(PortName)}'/>
                </channel>
                <serial type='file'>
                  <source path='{E(ConsoleLogPath)}'/>
                  <target port='0'/>
                </serial>
                {Nic?.ToXml() ?? ""}
                {string.Concat(Shares.Select(share => share.ToXml()))}
                {balloon}
              </devices>
              {qemuArgs}
            </domain>
            """;
    }
}
