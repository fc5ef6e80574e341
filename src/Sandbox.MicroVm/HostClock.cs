using System.Globalization;

namespace Sandbox.MicroVm;

/// <summary>Facts about the host's clock the guest kernel is told on its command line.</summary>
internal static class HostClock
{
    private static readonly Lazy<long?> s_tscKhz = new(ReadTscKhz);

    /// <summary>
    /// The TSC frequency in kHz. Under TCG the microvm guest otherwise calibrates the TSC against a PIT that ticks
    /// at the emulator's pace and in 15-25% of boots hangs after "Marking TSC unstable".
    /// </summary>
    public static long? TscKhz => s_tscKhz.Value;

    private static long? ReadTscKhz()
    {
        try
        {
            if (File.Exists("/sys/devices/system/cpu/cpu0/tsc_freq_khz")
                && long.TryParse(File.ReadAllText("/sys/devices/system/cpu/cpu0/tsc_freq_khz").Trim(), out long khz))
                return khz;
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
            {
                if (!line.StartsWith("cpu MHz", StringComparison.Ordinal)) continue;
                var value = line[(line.IndexOf(':') + 1)..].Trim();
                if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double mhz))
                    return (long)Math.Round(mhz * 1000);
            }
        }
        catch (IOException) { }
        return null;
    }
}
