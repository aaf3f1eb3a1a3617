/*
 * A fake Daylight Solutions MIRcat SDK for the driver tests (our own code).
 *
 * It exports the MIRcatSDK_* functions imager/drivers/mircat.py uses, with the
 * signatures of the vendor header (MIRcatSDK.h, SDK 1.6.3: uint32_t return codes,
 * bool / uint8_t / uint16_t / float out-pointers, cdecl), behind a small state
 * machine of the laser: key switch, interlock, arming, TECs settling after arming,
 * tuning that completes after a few MIRcatSDK_IsTuned polls, emission only when
 * armed and tuned, per-QCL current limits that depend on the operating mode, and
 * the vendor error codes for misuse.
 *
 * Test-only functions (prefix fake_) set the hardware state (key switch,
 * interlock, front-panel current...) and expose what the driver sent: a text log
 * of every state-changing call and the largest current ever sent.
 *
 * Build: gcc -shared -fPIC -o libMIRcatSDK.so mircat_fake_sdk.c
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifdef _WIN32
#define API __declspec(dllexport)
#else
#define API __attribute__((visibility("default")))
#endif

/* vendor return codes (values from MIRcatSDK.h) */
#define RET_SUCCESS 0u
#define RET_INITIALIZATION_FAILURE 32u
#define RET_ARMDISARM_FAILURE 64u
#define RET_INTERLOCKS_KEYSWITCH_NOTSET 66u
#define RET_WW_OUTOFTUNINGRANGE 80u
#define RET_EMISSION_ALREADY_OFF 83u
#define RET_EMISSION_ALREADY_ON 85u
#define RET_PULSERATE_OUTOFRANGE 86u
#define RET_PULSEWIDTH_OUTOFRANGE 87u
#define RET_CURRENT_OUTOFRANGE 88u
#define RET_QCL_NUM_OUTOFRANGE 90u
#define RET_LASER_ALREADY_ARMED 91u
#define RET_LASER_ALREADY_DISARMED 92u
#define RET_LASER_NOT_ARMED 93u
#define RET_LASER_NOT_TUNED 94u
#define RET_TECS_NOT_AT_SET_TEMPERATURE 95u
#define RET_CW_NOT_ALLOWED_ON_QCL 96u
#define RET_INVALID_LASER_MODE 97u
#define RET_TEMPERATURE_OUT_OF_RANGE 98u
#define RET_NOT_INITIALIZED 101u
#define RET_PASSED_NULL_POINTER 105u

#define UNITS_MICRONS 1u
#define UNITS_CM1 2u
#define MODE_PULSED 1u
#define MODE_CW 2u
#define MODE_CW_MOD 3u

#define NQ_MAX 4
#define LOG_SIZE 65536

static struct {
    bool initialized, init_fails;
    bool key_switch, interlock, armed, emitting;
    bool tecs_ok;
    int tec_polls, tec_polls_left;
    bool tuned;
    int tune_polls, tune_polls_left;
    uint8_t num_qcls, report_units;
    float lo_um[NQ_MAX], hi_um[NQ_MAX];
    float tune_um, actual_um;
    uint8_t tune_qcl, active_qcl;
    float current_mA[NQ_MAX], rate_Hz[NQ_MAX], width_ns[NQ_MAX], set_temp_C[NQ_MAX];
    uint8_t mode[NQ_MAX];
    bool cw_allowed[NQ_MAX];
    uint16_t max_cw_mA[NQ_MAX], max_pulsed_mA[NQ_MAX];
    float max_current_sent_mA;
    uint16_t error_word;
    char log[LOG_SIZE];
    size_t log_len;
} s;

static void note(const char *fmt, ...) {
    va_list args;
    if (s.log_len >= LOG_SIZE - 1) return;
    va_start(args, fmt);
    int n = vsnprintf(s.log + s.log_len, LOG_SIZE - s.log_len, fmt, args);
    va_end(args);
    if (n < 0) return;
    s.log_len += (size_t)n;
    if (s.log_len > LOG_SIZE - 2) s.log_len = LOG_SIZE - 2;
    s.log[s.log_len++] = '\n';
    s.log[s.log_len] = '\0';
}

static float to_units(float um, uint8_t units) { return units == UNITS_CM1 ? 1e4f / um : um; }

static bool qcl_ok(uint8_t q) { return q >= 1 && q <= s.num_qcls; }

static bool is_cw(uint8_t mode) { return mode == MODE_CW || mode == MODE_CW_MOD; }

static float limit_mA(uint8_t q, uint8_t mode) {
    return is_cw(mode) ? (float)s.max_cw_mA[q - 1] : (float)s.max_pulsed_mA[q - 1];
}

static void drop_arming(void) {
    s.armed = false;
    s.emitting = false;
}

/* ---------------------------------------------------------------- test hooks */

API void fake_reset(void) {
    memset(&s, 0, sizeof s);
    s.key_switch = true;
    s.interlock = true;
    s.tec_polls = 2;
    s.tune_polls = 3;
    s.num_qcls = 2;
    s.report_units = UNITS_MICRONS;
    s.lo_um[0] = 6.8f; s.hi_um[0] = 7.7f;
    s.lo_um[1] = 7.6f; s.hi_um[1] = 8.6f;
    for (int i = 0; i < NQ_MAX; i++) {
        s.current_mA[i] = 300.0f;
        s.rate_Hz[i] = 100000.0f;
        s.width_ns[i] = 500.0f;
        s.set_temp_C[i] = 19.0f;
        s.mode[i] = MODE_CW;
        s.cw_allowed[i] = true;
        s.max_cw_mA[i] = (uint16_t)(800 + 100 * i);
        s.max_pulsed_mA[i] = (uint16_t)(1000 + 100 * i);
    }
}

API void fake_set_key_switch(bool on) {
    s.key_switch = on;
    if (!on) drop_arming(); /* the laser disarms when the key is turned off */
}

API void fake_set_interlock(bool closed) {
    s.interlock = closed;
    if (!closed) drop_arming(); /* an opened interlock disarms the laser */
}

API void fake_set_init_fails(bool fails) { s.init_fails = fails; }
API void fake_set_tune_polls(int n) { s.tune_polls = n; }
API void fake_set_tec_polls(int n) { s.tec_polls = n; }
API void fake_set_report_units(uint8_t units) { s.report_units = units; }
API void fake_set_system_error(uint16_t word) { s.error_word = word; }
API void fake_set_num_qcls(uint8_t n) { s.num_qcls = n; }

API void fake_set_range_um(uint8_t q, float lo, float hi) {
    if (q >= 1 && q <= NQ_MAX) { s.lo_um[q - 1] = lo; s.hi_um[q - 1] = hi; }
}

/* as if set on the front panel: not logged, not counted as sent */
API void fake_set_current(uint8_t q, float mA) {
    if (q >= 1 && q <= NQ_MAX) s.current_mA[q - 1] = mA;
}

API void fake_set_mode(uint8_t q, uint8_t mode) {
    if (q >= 1 && q <= NQ_MAX) s.mode[q - 1] = mode;
}

API void fake_set_cw_allowed(uint8_t q, bool allowed) {
    if (q >= 1 && q <= NQ_MAX) s.cw_allowed[q - 1] = allowed;
}

API float fake_max_current_sent(void) { return s.max_current_sent_mA; }
API bool fake_is_initialized(void) { return s.initialized; }
API uint8_t fake_get_mode(uint8_t q) { return q >= 1 && q <= NQ_MAX ? s.mode[q - 1] : 0; }

API uint32_t fake_call_log(char *buffer, uint32_t size) {
    if (buffer != NULL && size > 0) {
        size_t n = s.log_len < size - 1 ? s.log_len : size - 1;
        memcpy(buffer, s.log, n);
        buffer[n] = '\0';
    }
    return (uint32_t)s.log_len;
}

/* -------------------------------------------------------- SDK: communication */

API uint32_t MIRcatSDK_GetAPIVersion(uint16_t *major, uint16_t *minor, uint16_t *patch) {
    if (!major || !minor || !patch) return RET_PASSED_NULL_POINTER;
    *major = 1; *minor = 6; *patch = 3;
    return RET_SUCCESS;
}

API uint32_t MIRcatSDK_Initialize(void) {
    note("Initialize");
    if (s.init_fails) return RET_INITIALIZATION_FAILURE;
    s.initialized = true;
    return RET_SUCCESS;
}

API uint32_t MIRcatSDK_DeInitialize(void) {
    note("DeInitialize");
    if (!s.initialized) return RET_NOT_INITIALIZED;
    s.initialized = false;
    return RET_SUCCESS;
}

#define NEED_INIT() do { if (!s.initialized) return RET_NOT_INITIALIZED; } while (0)

API uint32_t MIRcatSDK_IsConnectedToLaser(bool *connected) {
    NEED_INIT();
    *connected = true;
    return RET_SUCCESS;
}

/* ---------------------------------------------------------- SDK: information */

static uint32_t copy_text(const char *text, char *buffer, uint8_t size) {
    if (buffer == NULL) return RET_PASSED_NULL_POINTER;
    if (strlen(text) + 1 > size) return 77u; /* MIRcatSDK_RET_BUFFER_TOO_SMALL */
    strcpy(buffer, text);
    return RET_SUCCESS;
}

API uint32_t MIRcatSDK_GetModelNumber(char *buffer, uint8_t size) {
    NEED_INIT();
    return copy_text("MIRcat-FAKE", buffer, size);
}

API uint32_t MIRcatSDK_GetSerialNumber(char *buffer, uint8_t size) {
    NEED_INIT();
    return copy_text("FK-0001", buffer, size);
}

API uint32_t MIRcatSDK_GetNumInstalledQcls(uint8_t *n) {
    NEED_INIT();
    *n = s.num_qcls;
    return RET_SUCCESS;
}

API uint32_t MIRcatSDK_GetQclTuningRange(uint8_t q, float *lo, float *hi, uint8_t *units) {
    NEED_INIT();
    if (!qcl_ok(q)) return RET_QCL_NUM_OUTOFRANGE;
    *units = s.report_units;
    if (s.report_units == UNITS_CM1) {
        *lo = 1e4f / s.hi_um[q - 1];
        *hi = 1e4f / s.lo_um[q - 1];
    } else {
        *lo = s.lo_um[q - 1];
        *hi = s.hi_um[q - 1];
    }
    return RET_SUCCESS;
}

/* --------------------------------------------------------------- SDK: status */

API uint32_t MIRcatSDK_IsInterlockedStatusSet(bool *set) {
    NEED_INIT();
    *set = s.interlock;
    return RET_SUCCESS;
}

API uint32_t MIRcatSDK_IsKeySwitchStatusSet(bool *set) {
    NEED_INIT();
    *set = s.key_switch;
    return RET_SUCCESS;
}

API uint32_t MIRcatSDK_IsEmissionOn(bool *on) {
    NEED_INIT();
    *on = s.emitting;
    return RET_SUCCESS;
}

API uint32_t MIRcatSDK_IsLaserArmed(bool *armed) {
    NEED_INIT();
    *armed = s.armed;
    return RET_SUCCESS;
}

API uint32_t MIRcatSDK_IsSystemError(bool *error) {
    NEED_INIT();
    *error = s.error_word != 0;
    return RET_SUCCESS;
}

API uint32_t MIRcatSDK_GetSystemErrorWord(uint16_t *word) {
    NEED_INIT();
    *word = s.error_word;
    return RET_SUCCESS;
}

API uint32_t MIRcatSDK_AreTECsAtSetTemperature(bool *at_temperature) {
    NEED_INIT();
    if (s.armed && !s.tecs_ok) {
        if (s.tec_polls_left > 0) s.tec_polls_left--;
        if (s.tec_polls_left == 0) s.tecs_ok = true;
    }
    *at_temperature = s.armed && s.tecs_ok;
    return RET_SUCCESS;
}

API uint32_t MIRcatSDK_GetActiveQcl(uint8_t *q) {
    NEED_INIT();
    *q = s.active_qcl;
    return RET_SUCCESS;
}

/* ---------------------------------------------------------- SDK: arm/disarm */

static uint32_t arm(void) {
    if (!s.key_switch || !s.interlock) return RET_INTERLOCKS_KEYSWITCH_NOTSET;
    if (s.armed) return RET_LASER_ALREADY_ARMED;
    s.armed = true;
    s.tecs_ok = s.tec_polls == 0;
    s.tec_polls_left = s.tec_polls;
    return RET_SUCCESS;
}

static uint32_t disarm(void) {
    if (!s.armed) return RET_LASER_ALREADY_DISARMED;
    drop_arming();
    s.tuned = false;
    return RET_SUCCESS;
}

API uint32_t MIRcatSDK_ArmLaser(void) {
    note("ArmLaser");
    NEED_INIT();
    return arm();
}

API uint32_t MIRcatSDK_DisarmLaser(void) {
    note("DisarmLaser");
    NEED_INIT();
    return disarm();
}

API uint32_t MIRcatSDK_ArmDisarmLaser(void) {
    note("ArmDisarmLaser");
    NEED_INIT();
    return s.armed ? disarm() : arm();
}

/* ---------------------------------------------------------------- SDK: tune */

API uint32_t MIRcatSDK_TuneToWW(float ww, uint8_t units, uint8_t preferred_qcl) {
    note("TuneToWW %.4f %u %u", ww, units, preferred_qcl);
    NEED_INIT();
    if (!s.armed) return RET_LASER_NOT_ARMED;
    if (!s.tecs_ok) return RET_TECS_NOT_AT_SET_TEMPERATURE;
    if (units != UNITS_MICRONS && units != UNITS_CM1) return 97u;
    if (preferred_qcl > s.num_qcls) return RET_QCL_NUM_OUTOFRANGE;
    float um = units == UNITS_CM1 ? 1e4f / ww : ww;
    uint8_t chosen = 0;
    for (uint8_t q = 1; q <= s.num_qcls; q++) {
        if ((preferred_qcl == 0 || preferred_qcl == q) && um >= s.lo_um[q - 1] - 1e-4f &&
            um <= s.hi_um[q - 1] + 1e-4f) {
            chosen = q;
            break;
        }
    }
    if (chosen == 0) return RET_WW_OUTOFTUNINGRANGE;
    s.tune_um = um;
    s.tune_qcl = preferred_qcl;
    s.active_qcl = chosen;
    s.tune_polls_left = s.tune_polls;
    s.tuned = s.tune_polls == 0;
    if (s.tuned) s.actual_um = um;
    return RET_SUCCESS;
}

API uint32_t MIRcatSDK_IsTuned(bool *tuned) {
    NEED_INIT();
    if (s.armed && !s.tuned && s.tune_um > 0.0f) {
        if (s.tune_polls_left > 0) s.tune_polls_left--;
        if (s.tune_polls_left == 0) {
            s.tuned = true;
            s.actual_um = s.tune_um;
        }
    }
    *tuned = s.tuned;
    return RET_SUCCESS;
}

API uint32_t MIRcatSDK_GetTuneWW(float *ww, uint8_t *units, uint8_t *preferred_qcl) {
    NEED_INIT();
    *units = s.report_units;
    *ww = s.tune_um > 0.0f ? to_units(s.tune_um, s.report_units) : 0.0f;
    *preferred_qcl = s.tune_qcl;
    return RET_SUCCESS;
}

API uint32_t MIRcatSDK_GetActualWW(float *ww, uint8_t *units, bool *light_valid) {
    NEED_INIT();
    *units = s.report_units;
    *ww = s.actual_um > 0.0f ? to_units(s.actual_um, s.report_units) : 0.0f;
    *light_valid = s.emitting && s.tuned;
    return RET_SUCCESS;
}

/* ------------------------------------------------------------ SDK: emission */

API uint32_t MIRcatSDK_TurnEmissionOn(void) {
    note("TurnEmissionOn");
    NEED_INIT();
    if (!s.armed) return RET_LASER_NOT_ARMED;
    if (!s.tuned) return RET_LASER_NOT_TUNED;
    if (s.emitting) return RET_EMISSION_ALREADY_ON;
    s.emitting = true;
    return RET_SUCCESS;
}

API uint32_t MIRcatSDK_TurnEmissionOff(void) {
    note("TurnEmissionOff");
    NEED_INIT();
    if (!s.emitting) return RET_EMISSION_ALREADY_OFF;
    s.emitting = false;
    return RET_SUCCESS;
}

/* ------------------------------------------------------------ SDK: settings */

API uint32_t MIRcatSDK_GetQCLPulseRate(uint8_t q, float *rate_Hz) {
    NEED_INIT();
    if (!qcl_ok(q)) return RET_QCL_NUM_OUTOFRANGE;
    *rate_Hz = s.rate_Hz[q - 1];
    return RET_SUCCESS;
}

API uint32_t MIRcatSDK_GetQCLPulseWidth(uint8_t q, float *width_ns) {
    NEED_INIT();
    if (!qcl_ok(q)) return RET_QCL_NUM_OUTOFRANGE;
    *width_ns = s.width_ns[q - 1];
    return RET_SUCCESS;
}

API uint32_t MIRcatSDK_GetQCLCurrent(uint8_t q, float *current_mA) {
    NEED_INIT();
    if (!qcl_ok(q)) return RET_QCL_NUM_OUTOFRANGE;
    *current_mA = s.current_mA[q - 1];
    return RET_SUCCESS;
}

API uint32_t MIRcatSDK_GetQCLMaxPulsedCurrent(uint8_t q, uint16_t *current_mA) {
    NEED_INIT();
    if (!qcl_ok(q)) return RET_QCL_NUM_OUTOFRANGE;
    *current_mA = s.max_pulsed_mA[q - 1];
    return RET_SUCCESS;
}

API uint32_t MIRcatSDK_GetQCLMaxCwCurrent(uint8_t q, uint16_t *current_mA) {
    NEED_INIT();
    if (!qcl_ok(q)) return RET_QCL_NUM_OUTOFRANGE;
    *current_mA = s.max_cw_mA[q - 1];
    return RET_SUCCESS;
}

API uint32_t MIRcatSDK_isCwAllowed(uint8_t q, bool *allowed) {
    NEED_INIT();
    if (!qcl_ok(q)) return RET_QCL_NUM_OUTOFRANGE;
    *allowed = s.cw_allowed[q - 1];
    return RET_SUCCESS;
}

API uint32_t MIRcatSDK_GetQCLOperatingMode(uint8_t q, uint8_t *mode) {
    NEED_INIT();
    if (!qcl_ok(q)) return RET_QCL_NUM_OUTOFRANGE;
    *mode = s.mode[q - 1];
    return RET_SUCCESS;
}

API uint32_t MIRcatSDK_GetQclSetTemperature(uint8_t q, float *temperature_C) {
    NEED_INIT();
    if (!qcl_ok(q)) return RET_QCL_NUM_OUTOFRANGE;
    *temperature_C = s.set_temp_C[q - 1];
    return RET_SUCCESS;
}

static uint32_t check_params(uint8_t q, float rate_Hz, float width_ns, float current_mA,
                             uint8_t mode) {
    if (current_mA > s.max_current_sent_mA) s.max_current_sent_mA = current_mA;
    if (!s.initialized) return RET_NOT_INITIALIZED;
    if (!qcl_ok(q)) return RET_QCL_NUM_OUTOFRANGE;
    if (!(rate_Hz > 0.0f && rate_Hz <= 3e6f)) return RET_PULSERATE_OUTOFRANGE;
    if (!(width_ns > 0.0f && width_ns <= 1e6f)) return RET_PULSEWIDTH_OUTOFRANGE;
    if (!(current_mA >= 0.0f && current_mA <= limit_mA(q, mode))) return RET_CURRENT_OUTOFRANGE;
    return RET_SUCCESS;
}

API uint32_t MIRcatSDK_SetQCLParams(uint8_t q, float rate_Hz, float width_ns, float current_mA) {
    note("SetQCLParams %u %.1f %.1f %.3f", q, rate_Hz, width_ns, current_mA);
    uint8_t mode = qcl_ok(q) ? s.mode[q - 1] : MODE_PULSED;
    uint32_t ret = check_params(q, rate_Hz, width_ns, current_mA, mode);
    if (ret != RET_SUCCESS) return ret;
    s.rate_Hz[q - 1] = rate_Hz;
    s.width_ns[q - 1] = width_ns;
    s.current_mA[q - 1] = current_mA;
    return RET_SUCCESS;
}

API uint32_t MIRcatSDK_SetAllQclParams(uint8_t q, float rate_Hz, float width_ns, float current_mA,
                                       float temperature_C, uint8_t mode) {
    note("SetAllQclParams %u %.1f %.1f %.3f %.2f %u", q, rate_Hz, width_ns, current_mA,
         temperature_C, mode);
    uint32_t ret = check_params(q, rate_Hz, width_ns, current_mA, mode);
    if (ret != RET_SUCCESS) return ret;
    if (mode != MODE_PULSED && mode != MODE_CW && mode != MODE_CW_MOD)
        return RET_INVALID_LASER_MODE;
    if (is_cw(mode) && !s.cw_allowed[q - 1]) return RET_CW_NOT_ALLOWED_ON_QCL;
    if (!(temperature_C >= 15.0f && temperature_C <= 30.0f)) return RET_TEMPERATURE_OUT_OF_RANGE;
    s.rate_Hz[q - 1] = rate_Hz;
    s.width_ns[q - 1] = width_ns;
    s.current_mA[q - 1] = current_mA;
    s.set_temp_C[q - 1] = temperature_C;
    s.mode[q - 1] = mode;
    return RET_SUCCESS;
}

/* start in the reset state when loaded */
#if defined(__GNUC__)
__attribute__((constructor)) static void fake_load(void) { fake_reset(); }
#endif
