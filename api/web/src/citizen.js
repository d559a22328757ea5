// The applicants' page, /tra-cuu (SMS messages link to /tra-cuu?ma=<receipt code>).
// Anyone holding a receipt code and the phone's last four digits may follow the dossier;
// the applicant, logged in with a one-time code, chooses how and when the result comes,
// pays by VietQR and shows the courier the door code.
import 'leaflet/dist/leaflet.css';
import './citizen.css';
import { api, ProblemError, el, clock, dateOf, slotText } from './common.js';

// The map and the QR encoder are most of the script's weight and only the logged-in view
// uses them: they are fetched then, not with the page an SMS link opens.
let L, newMap, showOutlines, qrcode, pinIcon;
// The maps of the dossier shown: drawing it again removes them, listeners and all.
const liveMaps = new Set();
async function loadExtras() {
  if (L) return;
  const [maps, qr] = await Promise.all([import('./map.js'), import('qrcode-generator')]);
  ({ L, newMap, showOutlines } = maps);
  qrcode = qr.default;
  // A red pin drawn in CSS: Leaflet's default marker finds its image by a file name in
  // the stylesheet, which the bundle's hashed asset names break.
  pinIcon = L.divIcon({ className: 'pin', iconSize: [32, 36], iconAnchor: [16, 36] });
}

const words = {
  vi: {
    pageTitle: 'Tra cứu hồ sơ — Bưu chính công ích',
    dismiss: 'Đóng',
    brand: 'Bưu chính công ích',
    title: 'Tra cứu hồ sơ',
    intro: 'Theo dõi hồ sơ hành chính gửi qua bưu điện và chọn cách nhận kết quả.',
    trackTitle: 'Tra cứu nhanh',
    trackIntro: 'Không cần đăng nhập: nhập mã biên nhận và 4 số cuối của số điện thoại đã đăng ký.',
    receipt: 'Mã biên nhận',
    receiptHint: '9 ký tự, ví dụ 7K3M-9QX2-D',
    last4: '4 số cuối của số điện thoại',
    trackSubmit: 'Tra cứu',
    progress: 'Tiến trình hồ sơ',
    latest: 'mới nhất',
    next: 'Bước tiếp theo',
    nextBy: (date) => `dự kiến: ${date}`,
    found: 'Đã tìm thấy hồ sơ.',
    loginTitle: 'Đăng nhập để chọn cách nhận kết quả',
    loginIntro: 'Chúng tôi nhắn mã 6 số đến số điện thoại đã đăng ký cho hồ sơ.',
    phone: 'Số điện thoại',
    phoneHint: 'Số đã đăng ký khi nộp hồ sơ, ví dụ 0912345678',
    sendCode: 'Gửi mã',
    otpLabel: 'Mã xác nhận (6 số)',
    otpSent: (min) => `Nếu mã biên nhận và số điện thoại khớp với hồ sơ, mã đã được nhắn đến số đó. Mã có hiệu lực ${min} phút.`,
    codeSent: 'Đã gửi yêu cầu mã xác nhận.',
    verify: 'Xác nhận',
    back: 'Gửi lại mã hoặc đổi số',
    loggedInAs: 'Bạn đã đăng nhập bằng mã một lần.',
    loggedIn: 'Đăng nhập thành công.',
    logout: 'Đăng xuất',
    loggedOut: 'Bạn đã đăng xuất.',
    myDossiers: 'Các hồ sơ của bạn',
    noDossiers: 'Không có hồ sơ nào gắn với số điện thoại này.',
    dossierTitle: (code) => `Hồ sơ ${code}`,
    stateLabel: 'Tình trạng',
    applicant: 'Người nộp',
    phoneLabel: 'Điện thoại',
    address: 'Địa chỉ',
    appointment: 'Ngày hẹn trả kết quả',
    heldUntil: 'Giữ tại bưu cục đến hết ngày',
    choiceLabel: 'Cách nhận kết quả',
    choice_home: 'Giao tận nhà',
    choice_post_office: 'Nhận tại bưu cục',
    notChosen: 'Chưa chọn',
    visitsTitle: 'Lịch hẹn với bưu tá',
    visit_pickup: 'Nhận hồ sơ tại nhà',
    visit_delivery: 'Giao kết quả',
    vstate_open: 'chưa lên lịch',
    vstate_scheduled: 'đã hẹn',
    vstate_assigned: 'đã có bưu tá phụ trách',
    vstate_in_progress: 'bưu tá đang trên đường đến',
    vstate_done: 'đã xong',
    vstate_failed: 'chưa thành công',
    vstate_cancelled: 'đã hủy',
    arrival: (time) => `Bưu tá dự kiến đến khoảng ${time}.`,
    state_requested: 'Đang chờ hẹn ngày nhận hồ sơ tại nhà',
    state_scheduled: 'Đã hẹn ngày nhận hồ sơ tại nhà',
    state_assigned: 'Bưu tá sẽ đến nhận hồ sơ',
    state_picked_up: 'Bưu tá đã nhận hồ sơ',
    state_at_post_office: 'Hồ sơ ở bưu cục, chờ chuyển đến cơ quan',
    state_handed_to_agency: 'Cơ quan đã nhận hồ sơ',
    state_in_processing: 'Cơ quan đang giải quyết hồ sơ',
    state_rejected_incomplete: 'Hồ sơ chưa đầy đủ, cơ quan trả lại',
    state_result_ready: 'Đã có kết quả tại cơ quan',
    state_result_at_post_office: 'Kết quả đã về bưu cục',
    state_out_for_delivery: 'Bưu tá đang mang kết quả đến cho bạn',
    state_delivered: 'Đã giao kết quả',
    state_delivery_failed: 'Chưa giao được kết quả, hãy chọn lại',
    state_redelivery_scheduled: 'Đã hẹn giao lại',
    state_held_at_post_office: 'Kết quả đang được giữ tại bưu cục',
    state_returned_to_agency: 'Kết quả đã trả lại cơ quan do không có người nhận',
    state_cancelled: 'Hồ sơ đã hủy',
    deliveryTitle: 'Chọn cách nhận kết quả',
    deliveryIntro: 'Bạn có thể đổi lựa chọn cho đến khi bưu tá mang kết quả đi giao.',
    choiceLegend: 'Bạn muốn nhận kết quả ở đâu?',
    counterNote: 'Mang theo căn cước khi đến nhận tại bưu cục.',
    slotLegend_delivery: 'Ngày và khung giờ giao kết quả',
    slotLegend_pickup: 'Ngày và khung giờ bưu tá đến nhận hồ sơ',
    remaining: (n) => `còn ${n} chỗ`,
    full: 'hết chỗ',
    noSlots: 'Hiện chưa có khung giờ nào. Vui lòng thử lại sau.',
    addressLabel: 'Địa chỉ',
    addressHint: 'Sửa nếu bưu tá cần đến một địa chỉ khác.',
    mapLabel: 'Vị trí nhà bạn trên bản đồ',
    mapHelp: 'Chạm vào bản đồ hoặc kéo ghim đỏ đến đúng nhà bạn. Với bàn phím: chọn bản đồ, di chuyển bằng các phím mũi tên, rồi bấm “Đặt ghim ở giữa bản đồ”.',
    myLocation: 'Dùng vị trí hiện tại của tôi',
    pinCentre: 'Đặt ghim ở giữa bản đồ',
    pinAt: (lat, lon) => `Ghim đang ở vĩ độ ${lat}, kinh độ ${lon}.`,
    noPin: 'Chưa đặt ghim.',
    locating: 'Đang xác định vị trí của bạn…',
    err_LOCATION: 'Không lấy được vị trí của bạn. Hãy đặt ghim trên bản đồ.',
    saveDelivery: 'Lưu lựa chọn',
    savedHome: (date, slot) => `Đã lưu: kết quả sẽ được giao tận nhà ${date}, ${slot}.`,
    savedOffice: 'Đã lưu: bạn sẽ nhận kết quả tại bưu cục. Nhớ mang theo căn cước.',
    pickupTitle: 'Hẹn bưu tá đến nhận hồ sơ',
    pickupIntro: 'Bạn có thể đổi lịch cho đến khi bưu tá lên đường.',
    savePickup: 'Lưu lịch hẹn',
    savedPickup: (date, slot) => `Đã lưu: bưu tá sẽ đến nhận hồ sơ ${date}, ${slot}.`,
    billTitle: 'Lệ phí và cước',
    fee: 'Lệ phí của cơ quan',
    postage: 'Cước bưu chính',
    surcharge: 'Phí thu hộ',
    total: 'Tổng cộng',
    paid: 'Đã trả',
    outstanding: 'Còn phải trả',
    refund: 'Đã trả thừa, sẽ được hoàn lại',
    nothingDue: 'Bạn không còn khoản nào phải trả.',
    vietqrHelp: 'Quét mã bằng ứng dụng ngân hàng để chuyển khoản đúng số tiền; giữ nguyên nội dung chuyển khoản.',
    vietqrLabel: (amount) => `Mã VietQR để chuyển khoản ${amount}`,
    reference: 'Nội dung chuyển khoản',
    handoverTitle: 'Mã giao nhận',
    handoverHelp: 'Chỉ đưa mã này cho bưu tá khi bạn đã nhận được kết quả. Không đọc mã cho ai qua điện thoại.',
    handoverExpires: (time) => `Mã có hiệu lực đến ${time}.`,
    handoverQR: 'Mã QR giao nhận để bưu tá quét',
    timelineTitle: 'Tiến trình hồ sơ',
    err_NETWORK: 'Không kết nối được máy chủ. Kiểm tra mạng rồi thử lại.',
    err_BAD_RECEIPT_CODE: 'Mã biên nhận không đúng. Hãy so từng ký tự với giấy biên nhận (9 ký tự, ví dụ 7K3M-9QX2-D).',
    err_VALIDATION_FAILED: 'Vui lòng kiểm tra lại các ô được đánh dấu.',
    err_NOT_FOUND: 'Không tìm thấy hồ sơ này.',
    err_track_NOT_FOUND: 'Không có hồ sơ nào khớp với mã biên nhận và 4 số điện thoại này.',
    err_TOO_MANY_ATTEMPTS: 'Bạn đã thử quá nhiều lần. Vui lòng đợi một lúc rồi thử lại.',
    retryIn: (min) => `Có thể thử lại sau khoảng ${min} phút.`,
    err_UNAUTHENTICATED: 'Phiên đăng nhập đã hết hạn. Vui lòng đăng nhập lại.',
    err_otp_UNAUTHENTICATED: 'Mã xác nhận không đúng hoặc đã hết hạn. Hãy kiểm tra lại hoặc xin mã mới.',
    // A server without a way to send codes answers the request NOT_FOUND.
    err_login_NOT_FOUND: 'Bưu điện chưa mở đăng nhập bằng mã qua tin nhắn. Bạn vẫn tra cứu được hồ sơ ở trên.',
    err_SLOT_FULL: 'Khung giờ này vừa hết chỗ. Vui lòng chọn khung giờ khác.',
    err_COURIER_ON_THE_WAY: 'Bưu tá đã lên đường nên không thể thay đổi nữa. Nếu cần, hãy gọi bưu cục.',
    err_INVALID_TRANSITION: 'Với tình trạng hiện tại của hồ sơ, bạn chưa thể thực hiện thay đổi này.',
    err_VERSION_CONFLICT: 'Hồ sơ vừa được cập nhật. Vui lòng xem lại và thử lại.',
    err_UNAVAILABLE: 'Hệ thống đang bận. Vui lòng thử lại sau ít phút.',
    errOther: (code) => `Đã có lỗi (${code}). Vui lòng thử lại sau.`,
    f_receipt_code: 'Mã biên nhận gồm 9 ký tự, ví dụ 7K3M-9QX2-D.',
    f_phone_last4: 'Nhập đúng 4 chữ số cuối của số điện thoại.',
    f_phone: 'Nhập số điện thoại di động, ví dụ 0912345678.',
    f_code: 'Nhập mã gồm 6 chữ số.',
    f_challenge_id: 'Mã đã hết hạn, hãy xin mã mới.',
    f_choice: 'Hãy chọn giao tận nhà hoặc nhận tại bưu cục. Kết quả của một số thủ tục chỉ nhận tại cơ quan.',
    f_date: 'Hãy chọn một ngày còn chỗ trong tuần tới.',
    f_slot: 'Hãy chọn một khung giờ còn chỗ, bắt đầu sau ít nhất một giờ nữa.',
    f_address: 'Hãy kiểm tra địa chỉ (tối đa 300 ký tự) và vị trí ghim.',
    complaintsTitle: 'Khiếu nại',
    complaintsIntro: 'Nếu bưu điện phục vụ chưa tốt với hồ sơ này, hãy cho chúng tôi biết. Bưu cục sẽ trả lời bạn tại đây.',
    complaintCategory: 'Bạn muốn khiếu nại về',
    cat_late: 'Chậm trễ (lấy, chuyển hoặc phát muộn)',
    cat_damaged: 'Hồ sơ hoặc kết quả bị hư hỏng, thất lạc',
    cat_rude: 'Thái độ phục vụ',
    cat_wrong_person: 'Giao nhầm người',
    cat_other: 'Vấn đề khác',
    complaintText: 'Nội dung khiếu nại',
    complaintHint: 'Từ 10 đến 2000 ký tự: chuyện gì đã xảy ra, khi nào.',
    fileComplaint: 'Gửi khiếu nại',
    complaintFiled: (day) => `Đã gửi khiếu nại. Bưu cục sẽ trả lời trước hết ngày ${day}.`,
    myComplaints: 'Các khiếu nại của bạn',
    cstate_open: 'Đang chờ trả lời',
    cstate_answered: 'Đã trả lời',
    cstate_closed: 'Đã đóng',
    filedOn: (at) => `Gửi lúc ${at}`,
    answerBy: (day) => `Hạn trả lời: ${day}`,
    answerLabel: 'Trả lời của bưu cục',
    err_COMPLAINT_ALREADY_OPEN: 'Bạn đã có một khiếu nại loại này đang chờ trả lời. Bưu cục sẽ trả lời khiếu nại đó trước.',
    f_category: 'Hãy chọn loại khiếu nại.',
    f_text: 'Hãy viết nội dung khiếu nại, từ 10 đến 2000 ký tự.',
  },
  en: {
    pageTitle: 'Track your dossier — Public postal service',
    dismiss: 'Close',
    brand: 'Public postal service',
    title: 'Track your dossier',
    intro: 'Follow the administrative dossier you sent through the post and choose how to receive the result.',
    trackTitle: 'Quick lookup',
    trackIntro: 'No login needed: enter the receipt code and the last 4 digits of the phone number on the dossier.',
    receipt: 'Receipt code',
    receiptHint: '9 characters, e.g. 7K3M-9QX2-D',
    last4: 'Last 4 digits of the phone number',
    trackSubmit: 'Look up',
    progress: 'Progress of the dossier',
    latest: 'latest',
    next: 'Next step',
    nextBy: (date) => `expected: ${date}`,
    found: 'Dossier found.',
    loginTitle: 'Log in to choose how you receive the result',
    loginIntro: 'We text a 6-digit code to the phone number registered on the dossier.',
    phone: 'Phone number',
    phoneHint: 'The number given when filing, e.g. 0912345678',
    sendCode: 'Send code',
    otpLabel: 'Confirmation code (6 digits)',
    otpSent: (min) => `If the receipt code and the phone number match a dossier, a code was texted to that number. It is valid for ${min} minutes.`,
    codeSent: 'Code requested.',
    verify: 'Confirm',
    back: 'Send a new code or change the number',
    loggedInAs: 'You are logged in with a one-time code.',
    loggedIn: 'You are logged in.',
    logout: 'Log out',
    loggedOut: 'You have logged out.',
    myDossiers: 'Your dossiers',
    noDossiers: 'No dossier is filed with this phone number.',
    dossierTitle: (code) => `Dossier ${code}`,
    stateLabel: 'Status',
    applicant: 'Applicant',
    phoneLabel: 'Phone',
    address: 'Address',
    appointment: 'Result promised for',
    heldUntil: 'Kept at the post office until the end of',
    choiceLabel: 'How you receive the result',
    choice_home: 'Delivered to my home',
    choice_post_office: 'Collect at the post office',
    notChosen: 'Not chosen yet',
    visitsTitle: 'Courier visits',
    visit_pickup: 'Collecting your papers',
    visit_delivery: 'Delivering your result',
    vstate_open: 'not planned yet',
    vstate_scheduled: 'booked',
    vstate_assigned: 'a courier is assigned',
    vstate_in_progress: 'the courier is on the way',
    vstate_done: 'done',
    vstate_failed: 'did not succeed',
    vstate_cancelled: 'cancelled',
    arrival: (time) => `The courier expects to arrive around ${time}.`,
    state_requested: 'Waiting for a day to collect your papers',
    state_scheduled: 'A day is booked to collect your papers',
    state_assigned: 'A courier will collect your papers',
    state_picked_up: 'The courier has your papers',
    state_at_post_office: 'At the post office, on its way to the agency',
    state_handed_to_agency: 'The agency has received your dossier',
    state_in_processing: 'The agency is processing your dossier',
    state_rejected_incomplete: 'Incomplete: the agency is returning it',
    state_result_ready: 'The result is ready at the agency',
    state_result_at_post_office: 'The result is at the post office',
    state_out_for_delivery: 'The courier is bringing your result',
    state_delivered: 'Result delivered',
    state_delivery_failed: 'The result could not be delivered: choose again',
    state_redelivery_scheduled: 'A new delivery is booked',
    state_held_at_post_office: 'The result is kept for you at the post office',
    state_returned_to_agency: 'Not collected: returned to the agency',
    state_cancelled: 'Cancelled',
    deliveryTitle: 'Choose how to receive the result',
    deliveryIntro: 'You can change your choice until the courier sets out with the result.',
    choiceLegend: 'Where do you want your result?',
    counterNote: 'Bring your ID card when collecting at the post office.',
    slotLegend_delivery: 'Delivery day and time',
    slotLegend_pickup: 'Day and time for the courier to collect your papers',
    remaining: (n) => `${n} ${n === 1 ? 'place' : 'places'} left`,
    full: 'full',
    noSlots: 'No time slot is offered at the moment. Please try again later.',
    addressLabel: 'Address',
    addressHint: 'Correct it if the courier should come to another address.',
    mapLabel: 'Your home on the map',
    mapHelp: 'Tap the map or drag the red pin to your home. With a keyboard: select the map, move it with the arrow keys, then press “Put the pin at the centre of the map”.',
    myLocation: 'Use my current location',
    pinCentre: 'Put the pin at the centre of the map',
    pinAt: (lat, lon) => `Pin at latitude ${lat}, longitude ${lon}.`,
    noPin: 'No pin placed yet.',
    locating: 'Finding your location…',
    err_LOCATION: 'Your location could not be found. Please place the pin on the map.',
    saveDelivery: 'Save my choice',
    savedHome: (date, slot) => `Saved: your result will be delivered to your home on ${date}, ${slot}.`,
    savedOffice: 'Saved: you will collect your result at the post office. Bring your ID card.',
    pickupTitle: 'Book the courier to collect your papers',
    pickupIntro: 'You can change the booking until the courier sets out.',
    savePickup: 'Save the booking',
    savedPickup: (date, slot) => `Saved: the courier will collect your papers on ${date}, ${slot}.`,
    billTitle: 'Fees and postage',
    fee: 'Agency fee',
    postage: 'Postage',
    surcharge: 'Collection charge',
    total: 'Total',
    paid: 'Paid',
    outstanding: 'Left to pay',
    refund: 'Paid twice, to be refunded',
    nothingDue: 'Nothing is left to pay.',
    vietqrHelp: 'Scan the code with your banking app to transfer the exact amount; keep the transfer message as it is.',
    vietqrLabel: (amount) => `VietQR code to transfer ${amount}`,
    reference: 'Transfer message',
    handoverTitle: 'Handover code',
    handoverHelp: 'Give this code to the courier only when you receive your result. Never read it to anyone over the phone.',
    handoverExpires: (time) => `Valid until ${time}.`,
    handoverQR: 'Handover QR code for the courier to scan',
    timelineTitle: 'Progress of the dossier',
    err_NETWORK: 'The server cannot be reached. Check your connection and try again.',
    err_BAD_RECEIPT_CODE: 'This receipt code is not right. Compare each character with your receipt (9 characters, e.g. 7K3M-9QX2-D).',
    err_VALIDATION_FAILED: 'Please check the marked fields.',
    err_NOT_FOUND: 'This dossier cannot be found.',
    err_track_NOT_FOUND: 'No dossier matches this receipt code and these digits.',
    err_TOO_MANY_ATTEMPTS: 'Too many attempts. Please wait a while and try again.',
    retryIn: (min) => `You can try again in about ${min} min.`,
    err_UNAUTHENTICATED: 'Your session has expired. Please log in again.',
    err_otp_UNAUTHENTICATED: 'The code is wrong or has expired. Check it or ask for a new one.',
    err_login_NOT_FOUND: 'Logging in by text message is not open yet. You can still track your dossier above.',
    err_SLOT_FULL: 'This time slot has just filled up. Please choose another one.',
    err_COURIER_ON_THE_WAY: 'The courier has already set out, so this can no longer be changed. Call the post office if needed.',
    err_INVALID_TRANSITION: 'This change is not possible at the dossier’s current stage.',
    err_VERSION_CONFLICT: 'The dossier has just been updated. Please check it and try again.',
    err_UNAVAILABLE: 'The service is busy. Please try again in a few minutes.',
    errOther: (code) => `Something went wrong (${code}). Please try again later.`,
    f_receipt_code: 'A receipt code has 9 characters, e.g. 7K3M-9QX2-D.',
    f_phone_last4: 'Enter exactly the last 4 digits of the phone number.',
    f_phone: 'Enter a mobile number, e.g. 0912345678.',
    f_code: 'Enter the 6-digit code.',
    f_challenge_id: 'The code has expired: ask for a new one.',
    f_choice: 'Choose home delivery or the post office. Some procedures’ results can only be collected at the agency.',
    f_date: 'Choose a day with free places in the coming week.',
    f_slot: 'Choose a time slot with free places, starting at least an hour from now.',
    f_address: 'Check the address (at most 300 characters) and the pin.',
    complaintsTitle: 'Complaints',
    complaintsIntro: 'If the post served you badly with this dossier, tell us. The post office will answer you here.',
    complaintCategory: 'Your complaint is about',
    cat_late: 'Delay (picked up, carried or delivered late)',
    cat_damaged: 'Papers or result damaged or lost',
    cat_rude: 'The staff’s manner',
    cat_wrong_person: 'Handed to the wrong person',
    cat_other: 'Something else',
    complaintText: 'Your complaint',
    complaintHint: '10 to 2000 characters: what happened, and when.',
    fileComplaint: 'Send the complaint',
    complaintFiled: (day) => `Your complaint is sent. The post office will answer by the end of ${day}.`,
    myComplaints: 'Your complaints',
    cstate_open: 'Awaiting an answer',
    cstate_answered: 'Answered',
    cstate_closed: 'Closed',
    filedOn: (at) => `Sent ${at}`,
    answerBy: (day) => `Answer due by: ${day}`,
    answerLabel: 'The post office’s answer',
    err_COMPLAINT_ALREADY_OPEN: 'You already have a complaint of this kind awaiting an answer. The post office will answer that one first.',
    f_category: 'Choose what the complaint is about.',
    f_text: 'Write your complaint, 10 to 2000 characters.',
  },
};

const LANG_KEY = 'courierd.citizen.lang';
const TOKEN_KEY = 'courierd.citizen.token';
let lang = localStorage.getItem(LANG_KEY) === 'en' ? 'en' : 'vi';

function t(key, ...args) {
  const w = words[lang][key];
  return typeof w === 'function' ? w(...args) : w;
}

const $ = (id) => document.getElementById(id);

// Money is shown the Vietnamese way whatever the language: 45.000 ₫.
const money = (vnd) => `${new Intl.NumberFormat('vi-VN').format(vnd)} ₫`;

// day reads an API date (YYYY-MM-DD, a civil day) in UTC, so that no time zone moves it.
function day(date, weekday = true) {
  return new Date(`${date}T00:00:00Z`).toLocaleDateString(lang === 'vi' ? 'vi-VN' : 'en-GB',
    { timeZone: 'UTC', weekday: weekday ? 'long' : undefined, day: 'numeric', month: 'numeric', year: 'numeric' });
}

// moment is an instant as a day and time in Vietnam, wherever the phone is.
const moment = (iso) => `${day(dateOf(iso), false)} ${clock(iso)}`;


function say(text) {
  $('error').textContent = '';
  $('status').textContent = text;
}

$('dismiss').addEventListener('click', () => say(''));

function clearMessages() {
  $('status').textContent = '';
  $('error').textContent = '';
  for (const node of document.querySelectorAll('[aria-invalid]')) {
    node.removeAttribute('aria-invalid');
    node.removeAttribute('aria-errormessage');
  }
}

// A code names its field when the API gives none.
const fieldOfCode = { BAD_RECEIPT_CODE: 'receipt_code', SLOT_FULL: 'slot' };

// report shows a problem in the page's language, marks the fields at fault and takes the
// keyboard to the first of them. fields maps the API's field names (or their first part,
// "address" for "address.text") to inputs or fieldsets.
function report(err, context, fields = {}) {
  if (err.code === 'UNAUTHENTICATED' && context !== 'otp') {
    logout();
  }
  const named = err.fields.length ? err.fields : fieldOfCode[err.code] ? [{ field: fieldOfCode[err.code] }] : [];
  const lines = [t(`err_${context}_${err.code}`) ?? t(`err_${err.code}`) ?? t('errOther', err.code)];
  if (err.retryAfter > 0) lines.push(t('retryIn', Math.ceil(err.retryAfter / 60)));
  let first;
  for (const { field } of named) {
    const root = field.split('.')[0];
    if (err.code === 'VALIDATION_FAILED') lines.push(t(`f_${field}`) ?? t(`f_${root}`));
    const target = fields[field] ?? fields[root];
    if (!target?.isConnected) continue;
    const inputs = target.matches('fieldset') ? [...target.querySelectorAll('input:not(:disabled)')] : [target];
    for (const input of inputs) {
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-errormessage', 'error');
    }
    first ??= inputs[0];
  }
  $('status').textContent = '';
  $('error').textContent = [...new Set(lines.filter(Boolean))].join(' ');
  first?.focus();
}

// validate checks fields as the browser reads their constraints (a group of radio buttons:
// that one is checked), before anything is sent, since lookups and code requests are
// counted; it throws what the API would.
function validate(fields) {
  const filled = (node) => (node.matches('fieldset') ? node.querySelector('input:checked') !== null : node.checkValidity());
  const errors = Object.entries(fields).filter(([, node]) => !filled(node)).map(([field]) => ({ field }));
  if (errors.length) throw new ProblemError(422, { code: 'VALIDATION_FAILED', errors });
}

// handle runs a form's submission: one at a time, its problems reported against fields.
function handle(form, context, fields, run) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = form.querySelector('[type=submit]');
    clearMessages();
    button.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      await run();
    } catch (err) {
      if (!(err instanceof ProblemError)) throw err;
      report(err, context, fields);
    } finally {
      button.disabled = false;
      form.removeAttribute('aria-busy');
    }
  });
}

// tidyReceipt writes a receipt code as printed on the receipt, whatever was typed.
function tidyReceipt(input) {
  const raw = input.value.toUpperCase().replace(/[^0-9A-Z]/g, '');
  input.value = raw.length === 9 ? `${raw.slice(0, 4)}-${raw.slice(4, 8)}-${raw.slice(8)}` : input.value.trim().toUpperCase();
}

// Tracking without an account.

let tracked = null; // the last lookup, {receipt_code, phone_last4, answers: {vi, en}}

function renderTimeline(list, steps) {
  list.replaceChildren(...steps.map((s, i) => el('li', { class: i === steps.length - 1 ? 'latest' : undefined },
    el('time', { datetime: s.at }, moment(s.at)),
    el('span', {}, s.text),
    i === steps.length - 1 && el('strong', { class: 'badge' }, t('latest')))));
}

function renderNext(node, next) {
  node.hidden = !next?.text;
  node.replaceChildren(el('strong', {}, `${t('next')}: `), next?.text ?? '', next?.by ? ` (${t('nextBy', day(next.by))})` : '');
}

async function showTrack() {
  const { answers } = tracked;
  answers[lang] ??= await api('POST', '/v1/track', {
    body: { receipt_code: tracked.receipt_code, phone_last4: tracked.phone_last4, lang },
  });
  renderTimeline($('timeline'), answers[lang].steps);
  renderNext($('track-next'), answers[lang].next);
  $('track-result').hidden = false;
}

handle($('track-form'), 'track', { receipt_code: $('receipt'), phone_last4: $('phone-last4') }, async () => {
  tidyReceipt($('receipt'));
  validate({ receipt_code: $('receipt'), phone_last4: $('phone-last4') });
  $('track-result').hidden = true;
  tracked = { receipt_code: $('receipt').value, phone_last4: $('phone-last4').value, answers: {} };
  try {
    await showTrack();
  } catch (err) {
    tracked = null;
    throw err;
  }
  $('login-receipt').value ||= tracked.receipt_code;
  say(t('found'));
  $('progress-title').focus();
});

// Logging in with a one-time code. The token lives in this tab only (sessionStorage):
// a shared family phone or a kiosk keeps nothing once the tab is closed.

let challenge = null; // {challenge_id, expires_in}
const token = () => sessionStorage.getItem(TOKEN_KEY);
const call = (method, path, body) => api(method, path, { body, token: token() });

function renderChallenge() {
  if (challenge) $('otp-sent').textContent = t('otpSent', Math.round(challenge.expires_in / 60));
}

function showLoginStep(otp) {
  $('login-form').hidden = otp;
  $('otp-form').hidden = !otp;
}

handle($('login-form'), 'login', { receipt_code: $('login-receipt'), phone: $('login-phone') }, async () => {
  tidyReceipt($('login-receipt'));
  validate({ receipt_code: $('login-receipt'), phone: $('login-phone') });
  challenge = await api('POST', '/v1/citizen/otp', {
    body: { receipt_code: $('login-receipt').value, phone: $('login-phone').value.trim() },
  });
  renderChallenge();
  $('otp-code').value = '';
  showLoginStep(true);
  say(t('codeSent'));
  $('otp-code').focus();
});

handle($('otp-form'), 'otp', { code: $('otp-code'), challenge_id: $('otp-code') }, async () => {
  validate({ code: $('otp-code') });
  const session = await api('POST', '/v1/citizen/otp/verify', {
    body: { challenge_id: challenge.challenge_id, code: $('otp-code').value },
  });
  sessionStorage.setItem(TOKEN_KEY, session.access_token);
  challenge = null;
  $('otp-form').reset();
  showLoginStep(false);
  await enterAccount();
  say(t('loggedIn'));
});

$('otp-back').addEventListener('click', () => {
  clearMessages();
  challenge = null;
  showLoginStep(false);
  $('login-phone').focus();
});

// The applicant's own dossiers.

let dossiers = [];
let current = null; // the id of the dossier shown

function showAccount(on) {
  $('track').hidden = on;
  $('login').hidden = on;
  $('account').hidden = !on;
}

function logout() {
  sessionStorage.removeItem(TOKEN_KEY);
  dossiers = [];
  current = null;
  $('dossier').replaceChildren();
  showAccount(false);
}

$('logout').addEventListener('click', () => {
  logout();
  say(t('loggedOut'));
  $('login-title').focus();
});

async function enterAccount() {
  showAccount(true);
  ({ items: dossiers } = await call('GET', '/v1/citizen/dossiers'));
  if (!dossiers.length) {
    $('dossier').replaceChildren(el('p', {}, t('noDossiers')));
    return;
  }
  const wanted = $('login-receipt').value;
  await showDossier((dossiers.find((d) => d.receipt_code === wanted) ?? dossiers[0]).id);
  $('dossier-title').focus();
}

// The applicant's choices stand from when the agency has the dossier until a courier sets
// out with the result (README, "What applicants decide"); the pickup until its courier sets out.
const deliveryStates = ['handed_to_agency', 'in_processing', 'rejected_incomplete', 'result_ready',
  'result_at_post_office', 'delivery_failed', 'redelivery_scheduled', 'held_at_post_office'];
const visitOf = (d, kind) => d.visits.find((v) => v.kind === kind);
const canChooseDelivery = (d) => deliveryStates.includes(d.state);
const canBookPickup = (d) => d.pickup && ['requested', 'scheduled', 'assigned'].includes(d.state)
  && visitOf(d, 'pickup')?.state !== 'in_progress';

async function showDossier(id) {
  current = id;
  const base = `/v1/citizen/dossiers/${id}`;
  const [d, timeline, bill] = await Promise.all([
    call('GET', base), call('GET', `${base}/timeline?lang=${lang}`), call('GET', `${base}/bill`)]);
  const [slots, handover, complaints] = await Promise.all([
    canChooseDelivery(d) || canBookPickup(d) ? call('GET', `${base}/slots`).then((r) => r.slots) : [],
    d.state === 'out_for_delivery' ? call('GET', `${base}/handover`).catch(absent) : null,
    call('GET', `${base}/complaints?limit=100`).then((r) => r.items),
    loadExtras(),
  ]);
  renderDossierList();
  for (const m of liveMaps) m.remove();
  liveMaps.clear();
  $('dossier').replaceChildren(...[
    el('h2', { id: 'dossier-title', tabindex: '-1' }, t('dossierTitle', d.receipt_code)),
    summary(d),
    handover && handoverSection(handover),
    visitsSection(d),
    canChooseDelivery(d) && deliverySection(d, slots),
    canBookPickup(d) && pickupSection(d, slots),
    billSection(bill),
    timelineSection(timeline),
    complaintsSection(d, complaints),
  ].filter(Boolean));
  // The forms lay out their home-only parts (and the map) once they are in the page.
  for (const form of $('dossier').querySelectorAll('form')) form.dispatchEvent(new Event('change'));
}

// draft is what the applicant chose on the dossier's forms but has not sent: a change of
// language draws the dossier again, and puts it back.
let draft = null;

function draftOf() {
  const box = $('dossier');
  return {
    checked: [...box.querySelectorAll('input:checked')].map((i) => [i.name, i.value]),
    texts: [...box.querySelectorAll('textarea')].map((a) => [a.id, a.value]),
    pins: Object.fromEntries([...box.querySelectorAll('.map[data-pin]')].map((m) => [m.id, m.dataset.pin])),
  };
}

function restoreDraft() {
  const box = $('dossier');
  for (const [name, value] of draft.checked) {
    const input = [...box.querySelectorAll('input')].find((i) => i.name === name && i.value === value);
    if (input && !input.disabled) input.checked = true;
  }
  for (const [id, value] of draft.texts) {
    const area = document.getElementById(id);
    if (area) area.value = value;
  }
  for (const form of box.querySelectorAll('form')) form.dispatchEvent(new Event('change'));
}

// absent reads a 404 as "nothing to show".
function absent(err) {
  if (err.code === 'NOT_FOUND') return null;
  throw err;
}

function renderDossierList() {
  const nav = $('dossier-list');
  nav.hidden = dossiers.length < 2;
  nav.querySelector('ul').replaceChildren(...dossiers.map((d) => el('li', {},
    el('button', {
      type: 'button', class: 'secondary', 'aria-current': d.id === current ? 'true' : undefined,
      onclick: () => {
        clearMessages();
        showDossier(d.id).then(() => $('dossier-title').focus(), (err) => report(err, 'account'));
      },
    }, `${d.receipt_code} · ${t(`state_${d.state}`)}`))));
}

function section(id, title, ...children) {
  return el('section', { id, class: 'card', 'aria-labelledby': `${id}-title` }, el('h3', { id: `${id}-title` }, title), ...children);
}

function summary(d) {
  const facts = [
    ['stateLabel', el('span', { class: 'state' }, t(`state_${d.state}`))],
    ['applicant', d.applicant_name],
    ['phoneLabel', d.phone],
    ['address', d.address],
    ['appointment', d.appointment_date && day(d.appointment_date)],
    ['choiceLabel', d.delivery_choice ? t(`choice_${d.delivery_choice}`) : canChooseDelivery(d) && t('notChosen')],
    ['heldUntil', d.state === 'held_at_post_office' && d.held_until && day(d.held_until)],
  ];
  return el('dl', { class: 'facts' }, facts.filter(([, v]) => v).flatMap(([k, v]) => [el('dt', {}, t(k)), el('dd', {}, v)]));
}

function visitsSection(d) {
  // A delivery to be collected at the counter is no visit, whatever its stop's state.
  const visits = d.visits.filter((v) => v.kind !== 'delivery' || d.delivery_choice !== 'post_office');
  if (!visits.length) return null;
  return section('visits', t('visitsTitle'), el('ul', { class: 'visits' }, visits.map((v) => el('li', {},
    el('strong', {}, t(`visit_${v.kind}`)),
    el('span', {}, t(`vstate_${v.state}`)),
    v.date && el('span', {}, `${day(v.date)}${v.slot ? `, ${slotText(v.slot)}` : ''}`),
    v.planned_arrival && el('span', {}, t('arrival', clock(v.planned_arrival)))))));
}

function timelineSection(timeline) {
  const next = el('p', { class: 'next' });
  renderNext(next, timeline.next);
  const list = el('ol', { id: 'dossier-timeline', class: 'timeline' });
  renderTimeline(list, timeline.steps);
  return section('history', t('timelineTitle'), list, next);
}

// QR codes are drawn as SVG elements, not from the library's markup, so that two codes on
// one page do not share element ids and each has its own accessible name.
const svgNS = 'http://www.w3.org/2000/svg';
function qrImage(text, label) {
  const q = qrcode(0, 'M');
  q.addData(text);
  q.make();
  const n = q.getModuleCount();
  const quiet = 4; // the blank border scanners need, in modules
  let d = '';
  for (let row = 0; row < n; row++) {
    for (let col = 0; col < n; col++) if (q.isDark(row, col)) d += `M${col + quiet} ${row + quiet}h1v1h-1z`;
  }
  const svg = document.createElementNS(svgNS, 'svg');
  const size = n + 2 * quiet;
  for (const [k, v] of Object.entries({ viewBox: `0 0 ${size} ${size}`, role: 'img', 'aria-label': label, class: 'qr', 'shape-rendering': 'crispEdges' })) {
    svg.setAttribute(k, v);
  }
  const background = document.createElementNS(svgNS, 'rect');
  background.setAttribute('width', size);
  background.setAttribute('height', size);
  background.setAttribute('fill', '#fff');
  const modules = document.createElementNS(svgNS, 'path');
  modules.setAttribute('d', d);
  modules.setAttribute('fill', '#000');
  svg.append(background, modules);
  return svg;
}

// emv reads one data object (two-digit id, two-digit length, value) of an EMVCo payload.
function emv(payload, id) {
  for (let i = 0; i + 4 <= payload.length;) {
    const length = Number(payload.slice(i + 2, i + 4));
    if (payload.slice(i, i + 2) === id) return payload.slice(i + 4, i + 4 + length);
    i += 4 + length;
  }
  return '';
}

function billSection(b) {
  const left = b.due_vnd - b.paid_vnd;
  const rows = [
    ['fee', b.fee_vnd], ['postage', b.postage_vnd], b.surcharge_vnd > 0 && ['surcharge', b.surcharge_vnd],
    ['total', b.due_vnd, 'sum'], b.paid_vnd > 0 && ['paid', b.paid_vnd], ['outstanding', left, 'sum'],
    b.refund_vnd > 0 && ['refund', b.refund_vnd],
  ].filter(Boolean);
  const table = el('table', { class: 'amounts' }, el('tbody', {}, rows.map(([k, v, cls]) => el('tr', { class: cls },
    el('th', { scope: 'row' }, t(k)), el('td', {}, money(v))))));
  const qr = left > 0 && b.vietqr && el('div', { id: 'vietqr', class: 'qr-box' },
    qrImage(b.vietqr, t('vietqrLabel', money(left))),
    el('p', {}, t('vietqrHelp')),
    el('p', {}, `${t('reference')}: `, el('strong', { class: 'mono' }, emv(emv(b.vietqr, '62'), '08'))));
  return section('bill', t('billTitle'), table, left <= 0 ? el('p', {}, t('nothingDue')) : qr);
}

function handoverSection(h) {
  return section('handover', t('handoverTitle'),
    el('p', { class: 'door-code' }, h.code),
    el('p', { class: 'warning' }, t('handoverHelp')),
    h.expires_at && el('p', { class: 'hint' }, t('handoverExpires', moment(h.expires_at))),
    el('div', { class: 'qr-box' }, qrImage(h.qr, t('handoverQR'))));
}

// Booking a visit: the day and slot, and the address with its pin.

function radio(name, value, label, { checked, disabled, required } = {}) {
  return el('label', { class: 'choice' }, el('input', { type: 'radio', name, value, checked, disabled, required }), label);
}

function renderSlots(set, kind, slots, chosen) {
  const days = new Map();
  for (const s of slots) days.set(s.date, [...(days.get(s.date) ?? []), s]);
  const key = (s) => `${s.date}|${s.start}|${s.end}`;
  set.replaceChildren(el('legend', {}, t(`slotLegend_${kind}`)),
    ...slots.length ? [...days].map(([date, list]) => el('fieldset', { class: 'day' }, el('legend', {}, day(date)),
      el('div', { class: 'slot-grid' }, list.map((s) => radio(`${kind}-slot`, key(s),
        el('span', {}, el('span', { class: 'time' }, `${s.start}–${s.end}`), el('span', { class: 'places' }, s.full ? t('full') : t('remaining', s.remaining))),
        { checked: chosen && key(s) === key(chosen), disabled: s.full, required: true })))))
      : [el('p', {}, t('noSlots'))]);
}

function bookingFields(d, kind, slots) {
  const visit = visitOf(d, kind);
  const slotSet = el('fieldset', { class: 'slots' });
  renderSlots(slotSet, kind, slots, visit?.date && visit.slot && { date: visit.date, ...visit.slot });
  const address = el('textarea', { id: `${kind}-address`, rows: 3, maxlength: 300, required: true, autocomplete: 'street-address',
    'aria-describedby': `${kind}-address-hint` }, d.address);
  const box = el('div', { id: `${kind}-map`, class: 'map', role: 'group', 'aria-labelledby': `${kind}-map-label`, 'aria-describedby': `${kind}-map-help` });
  const pinText = el('p', { class: 'hint', 'aria-live': 'polite' });
  const recorded = d.location && L.latLng(d.location.lat, d.location.lon);
  // A pin placed but not yet sent survives the dossier being drawn again (a change of language).
  const kept = draft?.pins[box.id];
  let pin = kept ? L.latLng(kept.split(',').map(Number)) : recorded;
  if (kept) box.dataset.pin = kept;
  let map = null; // a promise of the map, drawn the first time the fields show
  let marker = null;

  const describePin = () => {
    pinText.textContent = pin ? t('pinAt', pin.lat.toFixed(5), pin.lng.toFixed(5)) : t('noPin');
  };
  const place = (m, at) => {
    pin = L.latLng(at);
    box.dataset.pin = `${pin.lat},${pin.lng}`;
    marker.setLatLng(pin).addTo(m);
    describePin();
  };
  const ensureMap = () => {
    map ??= (async () => {
      const m = newMap(box, { center: pin ?? [10.975, 106.68], zoom: 16 });
      liveMaps.add(m);
      await showOutlines(L.layerGroup().addTo(m), m.getCenter());
      if (!liveMaps.has(m)) return m; // the dossier was drawn again meanwhile: this map is gone
      // Dragging a marker has no keyboard equivalent in Leaflet: the buttons below are it,
      // so the marker takes no place in the tab order.
      marker = L.marker(pin ?? m.getCenter(), { icon: pinIcon, draggable: true, keyboard: false, title: t('mapLabel') });
      if (pin) marker.addTo(m);
      marker.on('dragend', () => place(m, marker.getLatLng()));
      m.on('click', (e) => place(m, e.latlng));
      return m;
    })();
    return map.then((m) => {
      if (liveMaps.has(m)) m.invalidateSize(); // a map removed meanwhile has no size to take
      return m;
    });
  };
  const locate = async () => {
    const m = await ensureMap();
    say(t('locating'));
    navigator.geolocation.getCurrentPosition((p) => {
      say('');
      place(m, [p.coords.latitude, p.coords.longitude]);
      m.setView(pin, 17);
    }, () => report(new ProblemError(0, { code: 'LOCATION' }), kind, { address: box }), { enableHighAccuracy: true, timeout: 15000 });
  };
  describePin();

  const home = el('div', { class: 'home-part' },
    slotSet,
    el('div', { class: 'field' },
      el('label', { for: address.id }, t('addressLabel')),
      el('p', { id: `${kind}-address-hint`, class: 'hint' }, t('addressHint')),
      address),
    el('div', { class: 'field' },
      el('p', { class: 'label', id: `${kind}-map-label` }, t('mapLabel')),
      el('p', { id: `${kind}-map-help`, class: 'hint' }, t('mapHelp')),
      box,
      pinText,
      el('div', { class: 'actions' },
        'geolocation' in navigator && el('button', { type: 'button', class: 'secondary', onclick: locate }, t('myLocation')),
        el('button', {
          type: 'button', class: 'secondary',
          onclick: async () => {
            const m = await ensureMap();
            place(m, m.getCenter());
          },
        }, t('pinCentre')))));

  return {
    node: home,
    fields: { date: slotSet, slot: slotSet, 'address.text': address, 'address.admin_unit_code': address, address: box },
    show(on) {
      home.hidden = !on;
      if (on) ensureMap();
    },
    async refreshSlots() {
      renderSlots(slotSet, kind, (await call('GET', `/v1/citizen/dossiers/${d.id}/slots`)).slots, null);
    },
    // value is the booking to send: the address goes only when corrected, since it then
    // replaces the dossier's whole, administrative unit included.
    value() {
      const [date, start, end] = slotSet.querySelector('input:checked').value.split('|');
      const body = { date, slot: { start, end } };
      const text = address.value.trim();
      const movedPin = pin && !(recorded && pin.equals(recorded, 1e-6)); // a tenth of a metre
      if (text !== d.address || movedPin) {
        body.address = { text, admin_unit_code: d.admin_unit_code, location: pin && { lat: +pin.lat.toFixed(6), lon: +pin.lng.toFixed(6) } };
      }
      return body;
    },
  };
}

// submitChoice sends a choice; a refusal that means the page is out of date refreshes it.
async function submitChoice(d, path, body, home) {
  try {
    await call('PUT', `/v1/citizen/dossiers/${d.id}/${path}`, body);
  } catch (err) {
    if (err.code === 'SLOT_FULL') await home.refreshSlots();
    if (['COURIER_ON_THE_WAY', 'INVALID_TRANSITION', 'VERSION_CONFLICT'].includes(err.code)) {
      await showDossier(d.id);
      $('dossier-title').focus();
    }
    throw err;
  }
  await showDossier(d.id);
  $('dossier-title').focus();
}

function deliverySection(d, slots) {
  const home = bookingFields(d, 'delivery', slots);
  const chosen = d.delivery_choice || 'home';
  const choices = el('fieldset', { class: 'choices' }, el('legend', {}, t('choiceLegend')),
    ['home', 'post_office'].map((c) => radio('choice', c, t(`choice_${c}`), { checked: c === chosen, required: true })));
  const counterNote = el('p', { class: 'hint' }, t('counterNote'));
  const form = el('form', { id: 'delivery-form', novalidate: true }, choices, counterNote, home.node,
    el('button', { type: 'submit' }, t('saveDelivery')));
  const choice = () => form.elements.choice.value;
  form.addEventListener('change', () => {
    home.show(choice() === 'home');
    counterNote.hidden = choice() !== 'post_office';
  });
  handle(form, 'delivery', { choice: choices, ...home.fields }, async () => {
    const c = choice();
    validate(c === 'home' ? { choice: choices, slot: home.fields.slot, 'address.text': home.fields['address.text'] } : { choice: choices });
    const body = c === 'home' ? { choice: c, ...home.value() } : { choice: c };
    await submitChoice(d, 'delivery', body, home);
    say(c === 'home' ? t('savedHome', day(body.date), slotText(body.slot)) : t('savedOffice'));
  });
  return section('delivery', t('deliveryTitle'), el('p', {}, t('deliveryIntro')), form);
}

function pickupSection(d, slots) {
  const home = bookingFields(d, 'pickup', slots);
  const form = el('form', { id: 'pickup-form', novalidate: true }, home.node, el('button', { type: 'submit' }, t('savePickup')));
  form.addEventListener('change', () => home.show(true), { once: true });
  handle(form, 'pickup', home.fields, async () => {
    validate({ slot: home.fields.slot, 'address.text': home.fields['address.text'] });
    const body = home.value();
    await submitChoice(d, 'pickup', body, home);
    say(t('savedPickup', day(body.date), slotText(body.slot)));
  });
  return section('pickup', t('pickupTitle'), el('p', {}, t('pickupIntro')), form);
}

// Complaints: the applicant's own about this dossier, with the post office's answers, and
// a form to file another (one open per category: the server says so when one is).

const complaintCategories = ['late', 'damaged', 'rude', 'wrong_person', 'other'];
// lastDay is the deadline's last day: the day before the instant an answer is late from.
const lastDay = (c) => dateOf(Date.parse(c.due_at) - 1);

function complaintsSection(d, complaints) {
  const kinds = el('fieldset', { class: 'choices' }, el('legend', {}, t('complaintCategory')),
    complaintCategories.map((c) => radio('category', c, t(`cat_${c}`), { required: true })));
  const text = el('textarea', { id: 'complaint-text', name: 'text', rows: 4, minlength: 10, maxlength: 2000, required: true,
    'aria-describedby': 'complaint-hint' });
  const form = el('form', { id: 'complaint-form', novalidate: true }, kinds,
    el('div', { class: 'field' }, el('label', { for: 'complaint-text' }, t('complaintText')),
      el('p', { id: 'complaint-hint', class: 'hint' }, t('complaintHint')), text),
    el('button', { type: 'submit' }, t('fileComplaint')));
  handle(form, 'complaint', { category: kinds, text }, async () => {
    validate({ category: kinds, text });
    const filed = await call('POST', `/v1/citizen/dossiers/${d.id}/complaints`, { category: form.elements.category.value, text: text.value });
    await showDossier(d.id);
    $('complaints-title').focus();
    say(t('complaintFiled', day(lastDay(filed))));
  });
  const list = complaints.length ? [el('h4', {}, t('myComplaints')), el('ul', { id: 'complaint-list', class: 'complaints' },
    complaints.map((c) => el('li', { 'data-state': c.state },
      el('p', {}, el('strong', {}, t(`cat_${c.category}`)), ' · ', el('span', { class: 'state' }, t(`cstate_${c.state}`))),
      el('p', { class: 'hint' }, t('filedOn', moment(c.filed_at)),
        c.state === 'open' ? ` · ${t('answerBy', day(lastDay(c), false))}` : ''),
      el('p', { class: 'complaint-text' }, c.text),
      c.answer && el('div', { class: 'answer' }, el('h5', {}, t('answerLabel')), el('p', {}, c.answer)))))] : [];
  return section('complaints', t('complaintsTitle'), el('p', {}, t('complaintsIntro')), ...list, form);
}

// Language: Vietnamese unless the applicant chose English on this device.

function applyLang() {
  document.documentElement.lang = lang;
  document.title = t('pageTitle');
  for (const node of document.querySelectorAll('[data-t]')) node.textContent = t(node.dataset.t);
  const other = lang === 'vi' ? 'en' : 'vi';
  $('lang-toggle').textContent = other === 'en' ? 'English' : 'Tiếng Việt';
  $('lang-toggle').lang = other;
  renderChallenge();
}

// Changes of language redraw one after another: a second click waits for the first's
// answers, so that what the applicant chose is read from the page as it last stood.
let redrawn = Promise.resolve();
$('lang-toggle').addEventListener('click', () => {
  lang = lang === 'vi' ? 'en' : 'vi';
  localStorage.setItem(LANG_KEY, lang);
  applyLang();
  clearMessages();
  redrawn = redrawn.then(async () => {
    try {
      if (tracked && !$('track').hidden) await showTrack();
      if (current) {
        draft = draftOf();
        try {
          await showDossier(current);
          restoreDraft();
        } finally {
          draft = null;
        }
      }
    } catch (err) {
      if (!(err instanceof ProblemError)) throw err;
      report(err, current ? 'account' : 'track');
    }
  });
});

// Receipt codes are tidied as soon as the applicant leaves the field.
for (const input of document.querySelectorAll('input.receipt')) input.addEventListener('change', () => tidyReceipt(input));

applyLang();
const ma = new URLSearchParams(location.search).get('ma');
if (ma) {
  for (const input of document.querySelectorAll('input.receipt')) {
    input.value = ma;
    tidyReceipt(input);
  }
}
if (token()) {
  enterAccount().catch((err) => {
    if (!(err instanceof ProblemError)) throw err;
    report(err, 'account');
  });
}
